"""The decision log as CSV rows: one writer for the API export, the steward UI's export and the admin action."""

import csv

DECISION_COLUMNS = [
    "when",
    "action",
    "entity_type",
    "object_id",
    "kind",
    "summary",
    "reason",
    "requested_by",
    "approvers",
    "actor",
    "golden_version",
    "change_request",
    "match_candidate",
]


class Echo:
    """A file-like object whose write() returns the line: lets csv.writer feed a streaming response."""

    def write(self, value):
        return value


def _cell(value):
    # Spreadsheets run cells that start like a formula; reasons and summaries are typed by people.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def decision_csv_rows(queryset):
    """CSV lines (header first) for DecisionLog rows, streamed; spreadsheet formulas neutralized."""
    writer = csv.writer(Echo())
    yield writer.writerow(DECISION_COLUMNS)
    for row in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    row.created_at.isoformat(),
                    row.action,
                    row.entity_type,
                    row.object_id,
                    row.kind,
                    row.summary,
                    row.reason,
                    row.requested_by,
                    "; ".join(str(name) for name in row.approvers or ()),
                    row.actor.get_username() if row.actor_id else "",
                    row.golden_version,
                    row.change_request_id,
                    row.match_candidate_id,
                )
            ]
        )
