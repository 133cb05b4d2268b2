"""API token authentication: ``Authorization: Bearer <secret>`` (or ``Token <secret>``) -> the token's user.

``request.auth`` is the ``ApiToken``. A refused token is a 401 that says why (unknown, revoked, expired on a
date); a token whose scopes do not cover the request is a 403 naming the scope (``mdm.api.permissions``). The
token's last use is written at most once a minute (``mdm.tokens.record_use``).

Plain DRF tokens (``rest_framework.authtoken``) are not accepted: their keys were stored in clear text.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from mdm import tokens
from mdm.api.permissions import check_token_scope
from mdm.audit import client_ip

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Hub API tokens, hashed at rest and scoped (``mdm.models.ApiToken``)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in KEYWORDS:
            return None  # not ours: another class (the session) may know the caller
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: send 'Authorization: Bearer <token>' with the token and nothing else."
            )
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Unknown API token: it contains characters no token has.") from None
        try:
            token = tokens.authenticate_secret(secret)
        except tokens.TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if view is not None:
            check_token_scope(token, request, view)
        tokens.record_use(token, client_ip(request))
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer a request without credentials 401 (with this header) rather than 403.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI document names the token as an HTTP bearer scheme."""

    target_class = "mdm.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "mdm_<prefix>_<secret>",
            "description": (
                "An API token from /account/tokens/ (or `manage.py mdm_token create`), sent as "
                "`Authorization: Bearer mdm_...`. Reads need the `read` scope; writes the scope the operation "
                "names (ingest, match, changes, syndication_admin)."
            ),
        }
