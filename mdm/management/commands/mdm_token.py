"""API tokens from the command line: create (prints the secret once), list, revoke.

    manage.py mdm_token create --user svc.odoo --name "Odoo connector" --scope read --scope ingest --expires-days 90
    manage.py mdm_token list [--user svc.odoo] [--all]
    manage.py mdm_token revoke 1a2b3c4d --reason "laptop lost"

Audit rows are written with ``via="command"`` (no person: the operator's shell is not a hub account).
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mdm import tokens
from mdm.models import ApiToken

VIA = "command"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="Issue a token and print its secret (shown this once).")
        create.add_argument("--user", required=True, help="The account the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            required=True,
            help=f"A scope (repeat for several): {', '.join(ApiToken.Scope.values)}.",
        )
        expiry = create.add_mutually_exclusive_group()
        expiry.add_argument("--expires-days", type=int, default=90, help="Days until it expires (default 90).")
        expiry.add_argument("--never-expires", action="store_true", help="No expiry (prefer one).")
        create.add_argument(
            "--secret-only", action="store_true", help="Print only the secret (for scripts), nothing else."
        )
        listing = sub.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--user", help="Only this account's tokens.")
        listing.add_argument("--all", action="store_true", help="Include revoked and expired tokens.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix (the 8 characters after 'mdm_').")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", required=True, help="Why (kept with the token and in the audit log).")

    def handle(self, *args, **opts):
        getattr(self, f"_{opts['action']}")(opts)

    def _user(self, username):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account '{username}'.")
        return user

    def _create(self, opts):
        user = self._user(opts["user"])
        expires_at = None
        if not opts["never_expires"]:
            if opts["expires_days"] < 1:
                raise CommandError("--expires-days must be at least 1 (or use --never-expires).")
            expires_at = timezone.now() + datetime.timedelta(days=opts["expires_days"])
        try:
            token, secret = tokens.issue_token(
                user, name=opts["name"], scopes=opts["scopes"], expires_at=expires_at, via=VIA
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if opts["secret_only"]:
            self.stdout.write(secret)
            return
        until = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
        self.stdout.write(f"Token '{token.name}' for {user.username} ({', '.join(token.scopes)}; {until}):")
        self.stdout.write(secret)
        self.stdout.write("Copy it now: it is not stored and cannot be shown again.")

    def _list(self, opts):
        qs = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if opts["user"]:
            qs = qs.filter(user=self._user(opts["user"]))
        rows = [t for t in qs if opts["all"] or t.is_active]
        if not rows:
            self.stdout.write("No tokens." if opts["all"] else "No active tokens (--all shows revoked and expired).")
            return
        self.stdout.write(f"{'prefix':<10}{'user':<20}{'name':<32}{'scopes':<36}{'expires':<18}{'last used':<18}state")
        for t in rows:
            state = "revoked" if t.revoked_at else "expired" if t.is_expired else "active"
            self.stdout.write(
                f"{t.prefix:<10}{t.user.username[:19]:<20}{t.name[:31]:<32}{','.join(t.scopes)[:35]:<36}"
                f"{_when(t.expires_at, 'never'):<18}{_when(t.last_used_at, '-'):<18}{state}"
            )

    def _revoke(self, opts):
        prefix = opts["prefix"].removeprefix(tokens.SECRET_PREFIX).split("_")[0]
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token with prefix '{prefix}' (see `mdm_token list --all`).")
        if token.revoked_at is not None:
            self.stdout.write(f"Token {prefix} was already revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.")
            return
        tokens.revoke_token(token, by=None, reason=opts["reason"], via=VIA)
        self.stdout.write(f"Token {prefix} ('{token.name}' of {token.user.username}) revoked.")


def _when(value, empty: str) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else empty
