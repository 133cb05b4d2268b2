"""Run matching from the command line: the whole master (batch) or the source records not yet linked."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mdm.services import matching


class Command(BaseCommand):
    help = (
        "Match one entity type. Batch (default): train the model on the whole master, propose duplicate golden "
        "records for review, rebuild the blocking keys. --incremental: link, propose or create golden records "
        "for source records no golden record holds yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("entity_type", help="supplier or item")
        parser.add_argument("--incremental", action="store_true", help="Match unlinked source records only.")
        parser.add_argument("--workers", type=int, default=None, help="Processes for scoring (default: CPUs).")
        parser.add_argument("--user", default=None, help="Record the run as done by this username.")

    def handle(self, *args, entity_type, incremental, workers, user, **opts):
        if entity_type not in matching.matching_entity_types():
            raise CommandError(
                f"'{entity_type}' is not a matched entity type; expected one of: "
                f"{', '.join(matching.matching_entity_types())}."
            )
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user '{user}'.")
        if incremental:
            run = matching.match_source_records(entity_type, actor=actor)
        else:
            run = matching.match_run(entity_type, actor=actor, workers=workers)
        self.stdout.write(
            f"{run.get_mode_display()} run #{run.pk} of {entity_type}: {run.records} records, "
            f"{run.candidate_pairs} candidate pairs, {run.match_pairs} in the match band, "
            f"{run.review_pairs} for review, {run.auto_linked} linked, {run.created_golden} golden records created, "
            f"{run.clusters} clusters; {run.duration_seconds} s ({run.timings})."
        )
