"""The hub's roles as Django groups, kept in step with the models after every migrate.

Roles are groups with model permissions; django-guardian is used only for per-object scopes.
``mdm`` names the domain apps by label (settings.MDM_DOMAIN_APPS), never by import.
"""

from django.conf import settings

VIEWER = "viewer"
STEWARD = "steward"
APPROVER = "approver"
INTEGRATION = "integration"
OPERATIONS = "operations"
AUDITOR = "auditor"


def role_permissions(all_perms):
    """Map role name -> set of ``app_label.codename`` from the permissions that exist."""
    apps = set(settings.MDM_DOMAIN_APPS) | {"mdm"}
    view = {p for p in all_perms if p.split(".")[0] in apps and ".view_" in p}
    golden_write = {
        p for p in all_perms if p.split(".")[0] in set(settings.MDM_DOMAIN_APPS) and (".add_" in p or ".change_" in p)
    }
    ingest = {"mdm.add_sourcerecord", "mdm.view_sourcerecord"}
    # Stewards decide match proposals, start match runs and work the task list.
    stewardship = {"mdm.change_matchcandidate", "mdm.add_matchrun", "mdm.change_stewardtask"}
    # Everyone but viewers may propose changes (service accounts too); only approvers approve, within the
    # scopes django-guardian gives them (mdm.approve_in_scope on ApprovalScope rows).
    propose = {"mdm.add_changerequest"}
    approve = {"mdm.approve_changerequest"}
    # Syndication: stewards and approvers follow where their records went; operations staff watch every target,
    # replay deliveries, check connections and adjust a target (adding one stays with administrators).
    sync_follow = {"sync.view_delivery", "sync.view_outboxevent", "sync.view_target", "sync.view_keymap"}
    sync_view = {p for p in all_perms if p.startswith("sync.view_")}
    golden_view = {p for p in view if p.split(".")[0] in set(settings.MDM_DOMAIN_APPS)}
    operations = sync_view | {"sync.replay_delivery", "sync.change_target"} | golden_view
    # Unmasked bank account numbers: approvers, who verify a changed account before approving it. Every view
    # and export of them is written to the audit log. Not part of "view": viewers and stewards see last4 only.
    reveal_bank = {"suppliers.reveal_supplierbankaccount"}
    # Auditors read everything a viewer reads plus the audit log and the token list (never token secrets).
    audit = {"mdm.view_auditevent", "mdm.view_apitoken", "mdm.view_accesslimit"}
    # API tokens: people with a service role manage their own tokens; administrators manage everyone's.
    own_tokens = {"mdm.add_apitoken", "mdm.view_apitoken"}
    view = view - audit - {"mdm.view_apitoken"}
    return {
        VIEWER: view,
        STEWARD: view | golden_write | ingest | stewardship | propose | sync_follow,
        APPROVER: view | golden_write | ingest | stewardship | propose | approve | sync_follow | reveal_bank,
        INTEGRATION: view | ingest | propose | own_tokens,
        OPERATIONS: operations | own_tokens,
        AUDITOR: view | audit | sync_view,
    }


def sync_role_groups(**kwargs):
    """post_migrate receiver: create the role groups and give them their permissions."""
    from django.contrib.auth.models import Group, Permission

    perms = {f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related("content_type")}
    for role, names in role_permissions(perms.keys()).items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[name] for name in names if name in perms])
