"""Load or refresh the UN/ECE Rec 20 / Rec 21 and UCUM unit code lists into the hub's units (idempotent)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mdm.models import SourceSystem
from uom.services import unit_codes_load

SYSTEM_USER = "system"


class Command(BaseCommand):
    help = (
        "Create the hub units and global aliases the shipped code lists define (uom/data), filling blank "
        "UN/ECE and UCUM codes of existing units. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--convention",
            action="append",
            default=[],
            metavar="SYSTEM=CONVENTION",
            help="Give source system SYSTEM the aliases of a unit convention (x12, fda): "
            "--convention distributor-catalog=x12 makes that feed's CA a case. Repeatable.",
        )

    def handle(self, *args, **opts):
        conventions = []
        for pair in opts["convention"]:
            name, sep, convention = pair.partition("=")
            if not sep or not name or not convention:
                raise CommandError(f"--convention expects SYSTEM=CONVENTION, got '{pair}'.")
            system = SourceSystem.objects.filter(name=name).first()
            if system is None:
                raise CommandError(f"There is no source system '{name}'.")
            conventions.append((system, convention.strip().lower()))
        actor, created = get_user_model().objects.get_or_create(
            username=SYSTEM_USER, defaults={"is_active": False, "first_name": "System"}
        )
        if created:
            actor.set_unusable_password()
            actor.save(update_fields=["password"])
        try:
            result = unit_codes_load(actor=actor, conventions=conventions)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Units: {result.created} created, {result.updated} updated, {result.unchanged} unchanged; "
            f"aliases: {result.aliases_created} created, {result.aliases_skipped} already taken."
        )
        for conflict in result.conflicts:
            self.stdout.write(self.style.WARNING(f"  {conflict}"))
