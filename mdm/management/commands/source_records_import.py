"""Import a CSV or XLSX file of source records, with a progress bar and a per-row report file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mdm import registry
from mdm.models import SourceSystem
from mdm.services.file_import import (
    FileImportError,
    FileImportReport,
    RowReport,
    read_rows,
    source_records_import_file,
)


class Command(BaseCommand):
    help = "Import source records from a CSV/XLSX file (columns = payload fields, see docs/ingest-payloads.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--system", required=True, help="Source system name (created with --create-system).")
        parser.add_argument("--entity-type", required=True, help=f"One of: {', '.join(registry.entity_types())}")
        parser.add_argument("--id-column", default="external_id")
        parser.add_argument("--sheet", default=None, help="XLSX sheet name (default: the first).")
        parser.add_argument("--report", type=Path, default=None, help="Per-row report CSV (default: FILE.report.csv).")
        parser.add_argument("--user", default=None, help="Username recorded as the actor.")
        parser.add_argument("--create-system", choices=["odoo", "file", "api", "gpo"], default=None)

    def handle(self, *args, **opts):
        try:
            registry.get(opts["entity_type"])
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
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
            total = len(read_rows(path, sheet=opts["sheet"]))
            with tqdm(total=total, unit="row", desc=path.name, disable=opts["verbosity"] == 0) as bar:
                report = source_records_import_file(
                    path=path,
                    system=system,
                    entity_type=opts["entity_type"],
                    actor=actor,
                    id_column=opts["id_column"],
                    sheet=opts["sheet"],
                    progress=bar.update,
                )
        except FileImportError as exc:
            if exc.row_errors:
                FileImportReport(
                    rows=[RowReport(e["row"], e["external_id"], "refused", e["errors"]) for e in exc.row_errors]
                ).write_csv(report_path)
                raise CommandError(f"{exc} See {report_path}.") from exc
            raise CommandError(str(exc)) from exc
        report.write_csv(report_path)
        self.stdout.write(
            f"{len(report.rows)} rows: {report.count('stored')} stored, {report.count('unchanged')} unchanged, "
            f"{report.count('rejected')} rejected (in quarantine). Per-row report: {report_path}"
        )
