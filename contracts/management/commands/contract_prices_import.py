"""Import a GPO or distributor price file (CSV/XLSX) as source records, with a per-row report file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contracts.choices import ContractKind
from contracts.price_file import contract_prices_import_file
from mdm.models import SourceSystem
from mdm.services.file_import import FileImportError, FileImportReport, RowReport


class Command(BaseCommand):
    help = (
        "Import a GPO or distributor price file (contract number, supplier, GTIN or manufacturer part number, "
        "UOM, price, tier, dates, currency; see contracts/price_file.py). All rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--system", required=True, help="Source system name (created with --create-system).")
        parser.add_argument("--create-system", choices=["gpo", "file"], default=None)
        parser.add_argument("--kind", choices=ContractKind.values, default=ContractKind.GPO, help="Contract kind.")
        parser.add_argument("--gpo-name", default="", help="The GPO's name (GPO files).")
        parser.add_argument("--currency", default="", help="ISO 4217 code for rows without a currency.")
        parser.add_argument("--sheet", default=None, help="XLSX sheet name (default: the first).")
        parser.add_argument("--report", type=Path, default=None, help="Per-row report CSV (default: FILE.report.csv).")
        parser.add_argument("--user", default=None, help="Username recorded as the actor.")

    def handle(self, *args, **opts):
        system = SourceSystem.objects.filter(name=opts["system"]).first()
        if system is None:
            if not opts["create_system"]:
                raise CommandError(f"Unknown source system '{opts['system']}'; add --create-system KIND to create it.")
            system = SourceSystem.objects.create(name=opts["system"], kind=opts["create_system"])
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"Unknown user '{opts['user']}'.")
        path: Path = opts["file"]
        report_path = opts["report"] or path.with_name(path.name + ".report.csv")
        try:
            report = contract_prices_import_file(
                path=path,
                system=system,
                kind=opts["kind"],
                gpo_name=opts["gpo_name"],
                currency=opts["currency"],
                actor=actor,
                sheet=opts["sheet"],
            )
        except FileImportError as exc:
            if exc.row_errors:
                FileImportReport(
                    rows=[RowReport(e["row"], e["external_id"], "refused", e["errors"]) for e in exc.row_errors]
                ).write_csv(report_path)
                raise CommandError(f"{exc} See {report_path}.") from exc
            raise CommandError(str(exc)) from exc
        report.write_csv(report_path)
        self.stdout.write(f"{report.summary()} Per-row report: {report_path}")
