"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY, after a new key was put in front.

Rotation, step by step: put the new key first (``FIELD_ENCRYPTION_KEY=new,old``) and restart every process
(new values are written with the new key, old ones still read); run this command; once it reports nothing
unreadable, drop the old key (``FIELD_ENCRYPTION_KEY=new``) and restart again.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mdm import audit, crypto
from mdm.key_rotation import rotate_all
from mdm.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (bank accounts and their history, target secrets) and every sealed "
        "value inside JSON payloads with the first key of FIELD_ENCRYPTION_KEY. Idempotent; batched; --dry-run "
        "only counts. Exits non-zero if a value can be read with none of the configured keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be re-encrypted; write nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument("--user", default=None, help="Record the rotation as done by this username.")
        parser.add_argument("--reason", default="", help="Why the keys are rotated (kept in the audit log).")

    def handle(self, *args, dry_run, batch_size, user, reason, **opts):
        keys = list(settings.FIELD_ENCRYPTION_KEYS)
        if not keys:
            raise CommandError("FIELD_ENCRYPTION_KEY is not set: there is no key to re-encrypt with.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user '{user}'.")
        verbose = opts.get("verbosity", 1) >= 2
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}re-encrypting with key {crypto.key_id(keys[0])} "
            f"({len(keys)} key{'s' if len(keys) != 1 else ''} configured)."
        )
        reports = rotate_all(
            dry_run=dry_run, batch_size=batch_size, progress=self.stdout.write if verbose else (lambda _: None)
        )
        unreadable = []
        for report in reports:
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(
                f"  {report.name}: {report.scanned} values, {verb} {report.rotated}, "
                f"{report.current} already under the first key, {len(report.unreadable)} unreadable"
            )
            unreadable += [(report.table, pk, report.column) for pk in report.unreadable]
        for table, pk, column in unreadable[:100]:
            self.stderr.write(f"  unreadable: {table} pk={pk} column={column}")
        if len(unreadable) > 100:
            self.stderr.write(f"  ... and {len(unreadable) - 100} more")
        if not dry_run:
            audit.record(
                AuditEvent.Action.KEY_ROTATION,
                actor=actor,
                via="command",
                object_type="mdm.fieldencryptionkey",
                object_id=crypto.key_id(keys[0]),
                object_repr=f"key {crypto.key_id(keys[0])}",
                detail={
                    "key": crypto.key_id(keys[0]),
                    "keys_configured": len(keys),
                    "rotated": sum(r.rotated for r in reports),
                    "unreadable": len(unreadable),
                    "columns": {r.name: r.as_dict() for r in reports},
                    **({"reason": reason} if reason else {}),
                },
            )
        total = sum(r.rotated for r in reports)
        self.stdout.write(f"{'Would re-encrypt' if dry_run else 'Re-encrypted'} {total} values.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} stored values could not be decrypted with any key in FIELD_ENCRYPTION_KEY "
                "(listed above). Put the key they were written with back in the list and run again; until then "
                "do not remove any key."
            )
