"""API permissions: authenticated, holding the model permission that fits the request, and, for an API token,
holding the scope the endpoint needs.

Reads need ``view_<model>`` (DRF's DjangoModelPermissions does not check reads by default, and master
data such as negotiated prices is not for every logged-in account).

Token scopes come on top of the role: a token's request passes only if the account's role allows it AND the
token's scopes cover it. Reads (GET, HEAD, OPTIONS) need ``read``; a write needs the scope its view declares:

- ``required_scope = "ingest"`` on the view class: every write of the view;
- ``required_scopes = {"approve": "changes", ...}``: per action (wins over ``required_scope``).

A write with no declared scope is refused to every token, so a new write endpoint is closed to tokens until
someone decides which scope opens it. The check runs in the token authentication itself
(``mdm.api.authentication``), not in a permission class: many views replace their permission classes
(``get_permissions``), and a scope must hold whatever a view does with them. Session (cookie) requests have no
scopes; the role alone decides.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions

from mdm.models import ApiToken

READ = ApiToken.Scope.READ


class IsAuthenticatedWithModelPerms(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


def required_scope(view, request) -> str | None:
    """The token scope this request needs; None for a write whose view declares none."""
    if request.method in SAFE_METHODS:
        return READ
    action = getattr(view, "action", None)
    per_action = getattr(view, "required_scopes", None) or {}
    scope = per_action.get(action) if action is not None else None
    scope = scope or getattr(view, "required_scope", None)
    if scope is not None and scope not in ApiToken.Scope.values:
        raise ImproperlyConfigured(
            f"{type(view).__name__} declares the token scope {scope!r}; expected one of {', '.join(ApiToken.Scope.values)}."
        )
    return scope


def check_token_scope(token: ApiToken, request, view) -> None:
    """Refuse (403) a token request its scopes do not cover, naming the scope that is missing."""
    needed = required_scope(view, request)
    endpoint = f"{request.method} {request.path}"
    if needed is None:
        raise PermissionDenied(
            f"{endpoint} is not open to API tokens: the endpoint declares no token scope. "
            "Use a signed-in session, or ask for the endpoint to declare the scope it needs."
        )
    if needed not in (token.scopes or []):
        has = ", ".join(token.scopes or []) or "none"
        raise PermissionDenied(
            f"This API token lacks the '{needed}' scope that {endpoint} needs (its scopes: {has}). "
            f"Create a token with the '{needed}' scope at /account/tokens/."
        )
