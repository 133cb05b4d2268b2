"""Who may get in and what they did: API tokens, attribute limits on what a person sees, the audit trail.

- ``ApiToken``: a service account's or partner application's credential. Only a SHA-256 digest of the
  secret is stored (the secret is shown once, at creation); a token has scopes, may expire, can be revoked,
  and remembers when and from where it was last used.
- ``AccessLimit``: attribute-based limits on top of the role's model permissions, for data that carries
  the attribute (an item's UNSPSC category, a contract's facility). A user with limits for an entity type
  sees only the records one of them admits; no limits means the role decides alone.
- ``AuditEvent``: one row per sensitive read or write (unmasked bank details viewed or exported, permission
  and token changes, delivery replays, key rotation), append-only.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "Read"
        INGEST = "ingest", "Ingest source records"
        MATCH = "match", "Match and decide candidates"
        CHANGES = "changes", "Propose change requests"
        SYNDICATION_ADMIN = "syndication_admin", "Syndication administration"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'Odoo production connector'.")
    prefix = models.CharField(
        max_length=16, unique=True, help_text="The token's public first characters, shown to tell tokens apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="What the token may do (each scope within the user's role).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    revoke_reason = models.CharField(max_length=200, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class AccessLimit(models.Model):
    """Limits what a user (or every member of a group) sees of one entity type to records with an attribute."""

    name = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="access_limits"
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="access_limits"
    )
    entity_type = models.CharField(max_length=32, help_text="The registry's entity type, e.g. 'item', 'contract'.")
    attribute = models.CharField(max_length=64, help_text="An attribute the entity type declares, e.g. 'category'.")
    values = models.JSONField(default=list, help_text="The admitted values (a record matching any one is seen).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["entity_type", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="accesslimit_user_xor_group",
            )
        ]

    def __str__(self):
        return self.name


class AuditEvent(models.Model):
    """A sensitive read or write: who, when, what, on which object, under which correlation id. Append-only."""

    class Action(models.TextChoices):
        BANK_VIEW = "bank.view", "Viewed unmasked bank details"
        BANK_EXPORT = "bank.export", "Exported unmasked bank details"
        PERMISSION_CHANGE = "permission.change", "Changed permissions"
        GROUP_CHANGE = "group.change", "Changed group membership"
        OBJECT_PERMISSION_CHANGE = "object_permission.change", "Changed an object permission"
        ACCESS_LIMIT_CHANGE = "access_limit.change", "Changed an access limit"
        TOKEN_CREATE = "token.create", "Created an API token"
        TOKEN_REVOKE = "token.revoke", "Revoked an API token"
        DELIVERY_REPLAY = "delivery.replay", "Replayed deliveries"
        TARGET_SECRET_CHANGE = "target.secret_change", "Changed a target's credentials"
        KEY_ROTATION = "key.rotation", "Re-encrypted stored secrets"
        AUDIT_EXPORT = "audit.export", "Exported the audit log"
        LOGIN_LOCKED = "login.locked", "Account locked after failed logins"
        OTP_CHANGE = "otp.change", "Changed a second factor"

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    actor_name = models.CharField(max_length=150, blank=True, editable=False, help_text="Kept if the user is deleted.")
    via = models.CharField(max_length=40, blank=True, editable=False, help_text="session, token:<prefix>, command...")
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True, editable=False)
    object_type = models.CharField(max_length=64, blank=True, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    object_repr = models.CharField(max_length=200, blank=True, editable=False)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    detail = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
