"""Audit rows for changes to who may do what: group membership, model and object permissions, and the
superuser / staff / active flags of an account. (Access limits are audited by their admin, ``mdm.admin_limits``,
with the values before and after; API tokens by ``mdm.tokens``.)

These changes happen in many places (admin pages, the shell, a management command, a data migration), so they
are caught where they all meet: model signals, wired in ``MdmConfig.ready()``. The actor is the user of the
request being served, taken from django-simple-history's request context (``HistoryRequestMiddleware`` is in
the middleware stack, and DRF copies the token user onto the Django request); without a request (a shell, a
command) the row is written with no actor and ``via="system"``.

The role groups' permissions are reset from ``mdm.roles`` after every ``migrate``: that is the code's role
matrix (reviewed in version control) being deployed, not a person's decision, and on a fresh database it would
write hundreds of rows. ``during_role_sync`` wraps that receiver and those changes are not written here; a
person's edit of a role group through admin is.
"""

from __future__ import annotations

import contextlib
import functools
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from mdm import audit
from mdm.models import AuditEvent

Action = AuditEvent.Action
FLAGS = ("is_superuser", "is_staff", "is_active")

_role_sync: ContextVar[bool] = ContextVar("mdm_role_sync", default=False)


def during_role_sync(receiver):
    """Wrap the post_migrate role-group sync so the permission changes it makes are not audited (see above)."""

    @functools.wraps(receiver)
    def wrapped(*args, **kwargs):
        token = _role_sync.set(True)
        try:
            return receiver(*args, **kwargs)
        finally:
            _role_sync.reset(token)

    return wrapped


@contextlib.contextmanager
def quiet():
    """Changes made inside the block are not audited (the role sync; tests of the sync itself)."""
    token = _role_sync.set(True)
    try:
        yield
    finally:
        _role_sync.reset(token)


def current_request():
    """The request being served in this thread or task, if any (set by simple-history's middleware)."""
    from simple_history.models import HistoricalRecords

    return getattr(HistoricalRecords.context, "request", None)


def _record(action, **kwargs):
    if _role_sync.get():
        return None
    request = current_request()
    if request is None:
        kwargs.setdefault("via", "system")
    return audit.record(action, request=request, **kwargs)


def _perm_names(pks) -> list[str]:
    rows = Permission.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{codename}" for app, codename in rows)


def _group_names(pks) -> list[str]:
    return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))


def _usernames(pks) -> list[str]:
    User = get_user_model()
    return sorted(User.objects.filter(pk__in=pks).values_list(User.USERNAME_FIELD, flat=True))


def _m2m_receiver(action, forward_names, reverse_names, forward_key, reverse_key):
    """A receiver for one many-to-many relation: one row per add / remove / clear, with the names involved.

    ``forward_names`` names the related side's pks when the change is made from the relation's owner
    (``user.groups.add``), ``reverse_names`` when it is made from the other side (``group.user_set.add``).
    """

    def receiver(sender, instance, action: str, reverse: bool, model, pk_set, **kwargs):
        if action == "pre_clear":
            # post_clear has no pk_set: note what is about to go.
            instance._mdm_audit_cleared = _related_pks(sender, instance, model)
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action == "post_clear":
            pks, verb = getattr(instance, "_mdm_audit_cleared", []), "removed"
        else:
            pks, verb = pk_set or [], "added" if action == "post_add" else "removed"
        if not pks:
            return
        names = (reverse_names if reverse else forward_names)(pks)
        _record(audit_action, obj=instance, detail={"change": verb, reverse_key if reverse else forward_key: names})

    audit_action = action
    return receiver


def _related_pks(through, instance, model) -> list:
    """The pks of ``model`` rows that ``instance`` is linked to through the many-to-many table ``through``."""
    fks = [field for field in through._meta.fields if field.is_relation]
    source = next(field for field in fks if isinstance(instance, field.related_model))
    target = next(field for field in fks if field is not source and issubclass(model, field.related_model))
    return list(through._default_manager.filter(**{source.attname: instance.pk}).values_list(target.attname, flat=True))


def user_pre_save(sender, instance, update_fields=None, **kwargs):
    """Remember the flags as stored, so ``user_post_save`` can tell a flip (one query, only when they may change)."""
    if instance.pk is None or (update_fields is not None and not set(FLAGS) & set(update_fields)):
        instance._mdm_audit_flags = None
        return
    instance._mdm_audit_flags = sender._default_manager.filter(pk=instance.pk).values(*FLAGS).first()


def user_post_save(sender, instance, created, **kwargs):
    if created:
        granted = [flag for flag in ("is_superuser", "is_staff") if getattr(instance, flag)]
        if granted:
            _record(Action.PERMISSION_CHANGE, obj=instance, detail={"change": "created", "flags": granted})
        return
    before = getattr(instance, "_mdm_audit_flags", None)
    if not before:
        return
    flips = {flag: getattr(instance, flag) for flag in FLAGS if before[flag] != getattr(instance, flag)}
    if flips:
        _record(Action.PERMISSION_CHANGE, obj=instance, detail={"change": "flags", "flags": flips})


def _object_permission_detail(row) -> dict:
    holder = getattr(row, "user", None) or getattr(row, "group", None)
    ct = row.content_type
    return {
        "permission": f"{row.permission.content_type.app_label}.{row.permission.codename}",
        "holder_type": "user" if getattr(row, "user_id", None) else "group",
        "holder": holder.get_username() if hasattr(holder, "get_username") else str(holder),
        "object_type": f"{ct.app_label}.{ct.model}",
        "object_id": str(row.object_pk),
    }


def object_permission_saved(sender, instance, created, **kwargs):
    _record(
        Action.OBJECT_PERMISSION_CHANGE,
        obj=instance,
        object_repr=str(instance)[:200],
        detail={"change": "granted" if created else "changed", **_object_permission_detail(instance)},
    )


def object_permission_deleted(sender, instance, **kwargs):
    try:
        detail = _object_permission_detail(instance)
    except Exception:  # the holder or permission went first (a cascade): keep what is on the row
        detail = {"object_id": str(instance.object_pk)}
    _record(
        Action.OBJECT_PERMISSION_CHANGE,
        obj=instance,
        object_repr=f"object permission #{instance.pk}",
        detail={"change": "revoked", **detail},
    )


def connect() -> None:
    """Wire the receivers (called once from ``MdmConfig.ready``)."""
    from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

    User = get_user_model()
    relations = (
        (User.groups.through, Action.GROUP_CHANGE, _group_names, _usernames, "groups", "users"),
        (User.user_permissions.through, Action.PERMISSION_CHANGE, _perm_names, _usernames, "permissions", "users"),
        (Group.permissions.through, Action.PERMISSION_CHANGE, _perm_names, _group_names, "permissions", "groups"),
    )
    for through, action, forward, reverse, forward_key, reverse_key in relations:
        m2m_changed.connect(
            _m2m_receiver(action, forward, reverse, forward_key, reverse_key),
            sender=through,
            weak=False,
            dispatch_uid=f"mdm.audit.{through._meta.label_lower}",
        )
    pre_save.connect(user_pre_save, sender=User, dispatch_uid="mdm.audit.user_pre_save")
    post_save.connect(user_post_save, sender=User, dispatch_uid="mdm.audit.user_post_save")
    for model in (get_user_obj_perms_model(), get_group_obj_perms_model()):
        post_save.connect(object_permission_saved, sender=model, dispatch_uid=f"mdm.audit.{model._meta.label_lower}")
        post_delete.connect(
            object_permission_deleted, sender=model, dispatch_uid=f"mdm.audit.{model._meta.label_lower}.delete"
        )
