"""Load the demo data set: three source systems fed through the ordinary ingest service, golden records from Odoo.

Stages run in dependency order (unit, supplier, item, contract, contract_price). Each stage is one
transaction: it ingests that entity type from every source (batches of at most 1,000), then creates
golden records from the odoo-prod records of that type, so the next stage's payloads can refer to them
(item units, a price's contract and item). The distributor and GPO records stay unlinked, for the
matching engine and the stewards.
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from django.utils import timezone
from tqdm import tqdm

from mdm import registry, roles, tokens
from mdm.demo.generator import ENTITY_ORDER, ODOO, DemoData, generate
from mdm.models import ApiToken, IngestBatch, SourceRecord, SourceSystem
from mdm.services import matching
from mdm.services.golden import golden_create_from_source
from mdm.services.ingest import IngestBatchError, source_records_ingest

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - the published demo password (Makefile, README)
DEMO_USERS = (
    # username, group, superuser
    ("admin", None, True),
    ("steward", roles.STEWARD, False),
    ("approver", roles.APPROVER, False),
    ("approver2", roles.APPROVER, False),
    ("devices.approver", roles.APPROVER, False),
    ("viewer", roles.VIEWER, False),
    ("integration", roles.INTEGRATION, False),
)
SYSTEM_USER = "system"
# The integration account's API token: what a connector feeding the hub needs (mdm.tokens).
DEMO_TOKEN_NAME = "demo connector"  # noqa: S105 - a label
DEMO_TOKEN_SCOPES = ["read", "ingest", "match", "changes"]
GOLDEN_SOURCE = ODOO
GOLDEN_REASON = "demo data: created from the Odoo export"
MAX_LISTED_FAILURES = 20


class Command(BaseCommand):
    help = "Load demo data (FDA GUDID devices in three source feeds) and create golden records from the Odoo feed."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed loads the same data.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the database already has a source system or a golden supplier (used by make run).",
        )
        parser.add_argument(
            "--items", type=int, default=None, help="Number of devices to use (default: the whole shipped sample)."
        )

    def handle(self, *args, **opts):
        if opts["items"] is not None and opts["items"] < 1:
            raise CommandError("--items must be at least 1.")
        if opts["if_empty"] and self._has_data():
            self.stdout.write("Demo data not loaded: the database already has data (--if-empty).")
            return
        quiet = opts["verbosity"] == 0
        data = generate(opts["seed"], items=opts["items"])
        with transaction.atomic():
            actor, users = self._users()
            systems = {
                feed.name: SourceSystem.objects.get_or_create(
                    name=feed.name,
                    defaults={"kind": feed.kind, "trust_rank": feed.trust_rank, "description": feed.description},
                )[0]
                for feed in data.feeds
            }
        known = set(registry.entity_types())
        outcomes: dict[tuple[str, str], Counter] = defaultdict(Counter)
        golden_created: Counter = Counter()
        failures: list[tuple[str, str, str]] = []
        skipped = [entity for entity in ENTITY_ORDER if entity not in known]
        for entity_type in ENTITY_ORDER:
            if entity_type in skipped:
                continue
            try:
                with transaction.atomic():
                    self._stage(entity_type, data, systems, actor, outcomes, golden_created, failures, quiet)
            except (IngestBatchError, DatabaseError) as exc:
                raise CommandError(
                    f"Stage '{entity_type}' failed and was rolled back (earlier stages are kept): {exc}"
                ) from exc
        runs = self._match(actor, quiet)
        self._summary(data, outcomes, golden_created, failures, skipped, users)
        self._match_summary(runs)

    # ----------------------------------------------------------------------------------------------

    def _has_data(self) -> bool:
        if SourceSystem.objects.exists():
            return True
        try:
            supplier_model = registry.get("supplier").model
        except KeyError:
            return False
        return supplier_model.objects.exists()

    def _users(self):
        user_model = get_user_model()
        system_user, created = user_model.objects.get_or_create(
            username=SYSTEM_USER, defaults={"is_active": False, "first_name": "System", "last_name": "(demo loader)"}
        )
        if created:
            system_user.set_unusable_password()
            system_user.save(update_fields=["password"])
        users = []
        for username, group_name, superuser in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@demo.example", "is_staff": superuser, "is_superuser": superuser},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if group_name:
                user.groups.add(Group.objects.get_or_create(name=group_name)[0])
            if group_name == roles.APPROVER:
                self._scope(user)
            token = self._demo_token(user) if group_name == roles.INTEGRATION else None
            users.append((username, group_name or "superuser", created, token))
        return system_user, users

    @staticmethod
    def _demo_token(user) -> str:
        """The integration account's demo API token: a new one is printed once; a still active one is only named
        (its secret is not stored, so it cannot be printed again)."""
        active = [t for t in ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME) if t.is_active]
        if active:
            return (
                f"{active[0].prefix} (issued earlier; a new one: manage.py mdm_token create --user {user.username} "
                f"--name demo {' '.join(f'--scope {s}' for s in DEMO_TOKEN_SCOPES)})"
            )
        _, secret = tokens.issue_token(
            user,
            name=DEMO_TOKEN_NAME,
            scopes=DEMO_TOKEN_SCOPES,
            expires_at=timezone.now() + timedelta(days=settings.MDM_TOKEN_DEFAULT_DAYS),
            via="command",
        )
        return secret

    @staticmethod
    def _scope(user):
        """Approval scopes (django-guardian): two approvers answer for everything, one for medical equipment only."""
        from guardian.shortcuts import assign_perm

        from mdm.models import ApprovalScope

        if user.username == "devices.approver":
            scope, _ = ApprovalScope.objects.get_or_create(
                name="Medical equipment (UNSPSC segment 42)", defaults={"unspsc_prefix": "42", "entity_type": "item"}
            )
        else:
            scope, _ = ApprovalScope.objects.get_or_create(name="All records")
        assign_perm("mdm.approve_in_scope", user, scope)

    def _stage(self, entity_type, data: DemoData, systems, actor, outcomes, golden_created, failures, quiet):
        max_batch = settings.INGEST_MAX_BATCH
        feeds = [(feed, feed.of(entity_type)) for feed in data.feeds]
        total = sum(len(records) for _, records in feeds)
        golden_feed = next((records for feed, records in feeds if feed.name == GOLDEN_SOURCE), [])
        with tqdm(
            total=total + len(golden_feed),
            desc=f"{entity_type:<14}",
            unit="rec",
            disable=quiet,
            mininterval=0.5,
        ) as bar:
            for feed, records in feeds:
                system = systems[feed.name]
                for start in range(0, len(records), max_batch):
                    chunk = records[start : start + max_batch]
                    result = source_records_ingest(
                        system=system,
                        entity_type=entity_type,
                        records=[{"external_id": r.external_id, "payload": r.payload} for r in chunk],
                        actor=actor,
                        channel=IngestBatch.Channel.DEMO,
                        match=False,  # matched below, in one run per entity type, once the master exists
                    )
                    outcomes[(feed.name, entity_type)].update(r.outcome for r in result.results)
                    bar.update(len(chunk))
            if not golden_feed:
                return
            system = systems[GOLDEN_SOURCE]
            pending = {
                rec.external_id: rec
                for rec in SourceRecord.objects.select_related("crosswalk", "system").filter(
                    system=system, entity_type=entity_type, is_current=True, crosswalk__golden_id__isnull=True
                )
            }
            for record in golden_feed:
                source_record = pending.get(record.external_id)
                if source_record is not None:
                    try:
                        with transaction.atomic():
                            golden_create_from_source(source_record, actor=actor, reason=GOLDEN_REASON)
                        golden_created[entity_type] += 1
                    except Exception as exc:  # any failure is reported, never lost
                        failures.append((entity_type, record.external_id, _message(exc)))
                bar.update(1)

    def _match(self, actor, quiet) -> list:
        """A batch run over the master (blocking keys, the model, duplicate proposals), then the distributor and
        GPO records matched against it (link, propose, create), so the steward inbox has real work in it."""
        runs = []
        for entity_type in matching.matching_entity_types():
            if not quiet:
                self.stdout.write(f"matching {entity_type} records ...")
            runs.append(matching.match_run(entity_type, actor=actor))
            runs.append(matching.match_source_records(entity_type, actor=actor))
        return runs

    def _match_summary(self, runs) -> None:
        write = self.stdout.write
        write(self.style.MIGRATE_HEADING("Matching"))
        for run in runs:
            write(
                f"  {run.entity_type:<10}{run.get_mode_display():<46} linked {run.auto_linked:>5}  "
                f"created {run.created_golden:>5}  for review {run.review_pairs:>5}  ({run.duration_seconds} s)"
            )

    def _summary(self, data, outcomes, golden_created, failures, skipped, users):
        write = self.stdout.write
        write("")
        write(self.style.MIGRATE_HEADING(f"Demo data (seed {data.seed})"))
        write(f"  {'source system':<22}{'entity':<16}{'records':>8}{'stored':>8}{'unchanged':>10}{'rejected':>9}")
        for feed in data.feeds:
            for entity_type, count in feed.counts().items():
                if entity_type in skipped:
                    continue
                o = outcomes[(feed.name, entity_type)]
                write(
                    f"  {feed.name:<22}{entity_type:<16}{count:>8}{o['stored']:>8}{o['unchanged']:>10}{o['rejected']:>9}"
                )
        rejected = sum(o["rejected"] for o in outcomes.values())
        write(f"  Rejected records are in quarantine ({rejected} in this run).")
        write(self.style.MIGRATE_HEADING(f"Golden records created from {GOLDEN_SOURCE}"))
        for entity_type in ENTITY_ORDER:
            if entity_type not in skipped:
                write(f"  {entity_type:<16}{golden_created[entity_type]:>8}")
        if failures:
            write(self.style.WARNING(f"  {len(failures)} Odoo record(s) could not become golden records:"))
            for entity_type, external_id, message in failures[:MAX_LISTED_FAILURES]:
                write(self.style.WARNING(f"    {entity_type} {external_id}: {message}"))
            if len(failures) > MAX_LISTED_FAILURES:
                write(self.style.WARNING(f"    ... and {len(failures) - MAX_LISTED_FAILURES} more"))
        if skipped:
            write(
                self.style.WARNING(
                    f"  Skipped (entity type not registered by an installed app): {', '.join(skipped)}. "
                    "Records that refer to them cannot become golden records."
                )
            )
        write(self.style.MIGRATE_HEADING("Demo logins"))
        for username, role, created, token in users:
            password = DEMO_PASSWORD if created else "(existing user, password unchanged)"
            line = f"  {username:<12} {role:<12} password: {password}"
            if token:
                line += f"   API token: {token}"
            write(line)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        return " ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"
