"""API tokens: issue, revoke, and turn a presented secret back into its token.

A secret looks like ``mdm_<prefix>_<random>``: ``prefix`` (8 hex characters) is public and stored as is, so
people can tell their tokens apart in lists and logs; ``random`` is 43 characters from ``secrets.token_urlsafe(32)``
(256 bits). Only the SHA-256 digest of the whole secret is stored. A plain digest is enough here, unlike for
passwords: the secret is random and long, so there is nothing to guess from the digest, and a lookup by digest
(a unique index) costs one query per request where a slow password hash would cost tens of milliseconds.

Every token creation and revocation writes an audit row (``token.create`` / ``token.revoke``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mdm import audit
from mdm.models import ApiToken, AuditEvent

Scope = ApiToken.Scope
SECRET_PREFIX = "mdm_"  # noqa: S105 - the public start of every secret
# last_used_at is written at most this often per token: a busy connector would otherwise write on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)

# Which permissions make a scope useful to an account: a scope is offered (on the self-service page) only to
# people whose role could use it; the role still decides every request on its own.
SCOPE_PERMISSIONS = {
    Scope.READ: None,  # any account that reads anything
    Scope.INGEST: {"mdm.add_sourcerecord"},
    Scope.MATCH: {"mdm.change_matchcandidate", "mdm.add_matchrun", "mdm.view_sourcerecord"},
    Scope.CHANGES: {"mdm.add_changerequest", "mdm.approve_changerequest"},
    Scope.SYNDICATION_ADMIN: {"sync.replay_delivery", "sync.change_target"},
}


class TokenError(Exception):
    """A presented secret that does not let its holder in; the message says why and what to do."""


class UnknownToken(TokenError):
    pass


class RevokedToken(TokenError):
    pass


class ExpiredToken(TokenError):
    pass


class InactiveAccount(TokenError):
    pass


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_scopes(scopes) -> list[str]:
    """The scopes as a sorted list of known values; refuses unknown ones and an empty list."""
    if isinstance(scopes, str):
        scopes = [scopes]
    scopes = [str(scope).strip() for scope in scopes or [] if str(scope).strip()]
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            f"Unknown token scope{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Expected one or more of: {', '.join(Scope.values)}."
        )
    if not scopes:
        raise ValidationError(f"A token needs at least one scope: {', '.join(Scope.values)}.")
    return sorted(set(scopes), key=Scope.values.index)


def scopes_for_user(user) -> list[str]:
    """The scopes the user's role can make use of (offered on the self-service page)."""
    return [
        scope
        for scope, perms in SCOPE_PERMISSIONS.items()
        if (perms is None and user.is_active) or (perms and any(user.has_perm(perm) for perm in perms))
    ]


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"{SECRET_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def issue_token(
    user,
    *,
    name: str,
    scopes,
    expires_at: datetime | None = None,
    created_by=None,
    request=None,
    via: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the token and its secret, which is not stored and cannot be shown again.

    The scopes are checked against the known ones, not against the user's role: the role is checked on every
    request anyway, and an administrator may issue a token before the account gets its role.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the token a name that says what it is for, e.g. 'Odoo production connector'.")
    scopes = validate_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(
            "The expiry date is in the past; choose a later one (or none for a token that never expires)."
        )
    for _ in range(5):  # an 8-character prefix collides rarely; try again rather than fail
        prefix, secret = _new_secret()
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name[:100],
                    prefix=prefix,
                    key_hash=hash_secret(secret),
                    scopes=scopes,
                    expires_at=expires_at,
                    created_by=created_by,
                )
                audit.record(
                    AuditEvent.Action.TOKEN_CREATE,
                    request=request,
                    actor=created_by,
                    obj=token,
                    via=via,
                    detail={
                        "user": user.get_username(),
                        "prefix": prefix,
                        "scopes": scopes,
                        "expires_at": expires_at.isoformat() if expires_at else None,
                    },
                )
        except IntegrityError:
            continue
        return token, secret
    raise RuntimeError("Could not find a free token prefix after 5 attempts.")


@transaction.atomic
def revoke_token(token: ApiToken, *, by, reason: str, request=None, via: str | None = None) -> ApiToken:
    """Revoke a token at once (its next request is refused). Revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.revoke_reason = (reason or "").strip()[:200]
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        AuditEvent.Action.TOKEN_REVOKE,
        request=request,
        actor=by,
        obj=token,
        via=via,
        detail={"user": token.user.get_username(), "prefix": token.prefix, "reason": token.revoke_reason},
    )
    return token


def authenticate_secret(secret: str) -> ApiToken:
    """The active token whose secret this is; raises a ``TokenError`` subclass saying why not."""
    secret = (secret or "").strip()
    digest = hash_secret(secret)
    token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
    # The lookup is by digest (nothing about the secret leaks through its timing); the comparison is a guard.
    if token is None or not hmac.compare_digest(token.key_hash, digest):
        hint = "" if secret.startswith(SECRET_PREFIX) else " (hub tokens start with 'mdm_')"
        raise UnknownToken(
            f"Unknown API token{hint}: check that the whole token was copied, or create a new one at /account/tokens/."
        )
    if token.revoked_at is not None:
        raise RevokedToken(
            f"API token {token.prefix} was revoked on {token.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
            "ask its owner or an administrator for a new one."
        )
    if token.is_expired:
        raise ExpiredToken(
            f"API token {token.prefix} expired on {token.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
            "create a new one at /account/tokens/ or ask an administrator."
        )
    if not token.user.is_active:
        raise InactiveAccount(f"The account of API token {token.prefix} is disabled; its tokens no longer work.")
    return token


def record_use(token: ApiToken, ip: str | None, *, now: datetime | None = None) -> bool:
    """Remember when and from where a token was used, writing at most once per ``LAST_USED_RESOLUTION``.

    One conditional UPDATE (no read first): concurrent requests of the same token write once between them.
    Returns whether this call wrote.
    """
    now = now or timezone.now()
    written = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION))
        .update(last_used_at=now, last_used_ip=ip)
    )
    if written:
        token.last_used_at, token.last_used_ip = now, ip
    return bool(written)
