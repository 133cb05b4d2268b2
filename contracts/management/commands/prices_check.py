"""Run the price checks now (the nightly Celery task does the same) and print what they found."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from contracts.checks import prices_check
from contracts.choices import PriceCheck


class Command(BaseCommand):
    help = (
        "Check contract prices (overlaps, contracts expiring soon, anomalies per base unit, unconvertible units) "
        "and open, refresh or close steward tasks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", default=None, help="Check as of this day (YYYY-MM-DD); default today.")
        parser.add_argument(
            "--check",
            action="append",
            choices=PriceCheck.values,
            dest="checks",
            help="Run only this check (repeatable); default all.",
        )

    def handle(self, *args, **opts):
        on_date = None
        if opts["date"]:
            try:
                on_date = dt.date.fromisoformat(opts["date"])
            except ValueError:
                raise CommandError(f"--date '{opts['date']}' is not a date in the form YYYY-MM-DD.") from None
        report = prices_check(on_date=on_date, checks=opts["checks"])
        self.stdout.write(report.summary())
        if report.recomputed:
            self.stdout.write(f"{report.recomputed} price(s) per base unit recomputed.")
