"""How the matching engine sees items: description, manufacturer, part number, every GTIN, NDC, UNSPSC."""

from mdm.choices import RecordStatus
from mdm.registry import MatchingAdapter

SPEC = {
    "entity": "item",
    "id": "id",
    "fields": [
        {"name": "description", "kind": "text"},
        {"name": "manufacturer", "kind": "org_name"},
        {"name": "part_number", "kind": "identifier", "identifier": "part_number"},
        {"name": "gtin", "kind": "identifier", "identifier": "gtin", "multi": True},
        {"name": "ndc", "kind": "identifier", "identifier": "ndc"},
        {"name": "unspsc", "kind": "code"},
    ],
}


def _gtins(values) -> list[str]:
    return sorted({value for value in values if value})


def golden_rows(ids=None):
    """Flat rows of active and inactive items (retired ones are out of the running), children in one query."""
    from items.models import Item, ItemPackagingLevel

    items = Item.objects.exclude(status=RecordStatus.RETIRED).order_by("pk")
    if ids is not None:
        items = items.filter(pk__in=ids)
    fields = ("pk", "description", "manufacturer_name", "manufacturer_part_number", "ndc", "unspsc", "gudid_di")
    chunk = 5000
    rows = items.values_list(*fields)
    batch: list[tuple] = []

    def flush(batch):
        gtins: dict[int, list[str]] = {}
        levels = ItemPackagingLevel.objects.filter(item_id__in=[row[0] for row in batch]).exclude(gtin="")
        for item_id, gtin in levels.values_list("item_id", "gtin"):
            gtins.setdefault(item_id, []).append(gtin)
        for pk, description, manufacturer, part_number, ndc, unspsc, gudid_di in batch:
            yield {
                "id": pk,
                "description": description,
                "manufacturer": manufacturer,
                "part_number": part_number,
                "gtin": _gtins(gtins.get(pk, []) + ([gudid_di] if gudid_di and gudid_di.isdigit() else [])),
                "ndc": ndc,
                "unspsc": unspsc,
            }

    for row in rows.iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) == chunk:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


def source_row(standardized: dict) -> dict:
    gudid_di = standardized.get("gudid_di") or ""
    packaging_gtins = [level.get("gtin") or "" for level in standardized.get("packaging") or []]
    return {
        "description": standardized.get("description") or "",
        "manufacturer": standardized.get("manufacturer") or "",
        "part_number": standardized.get("manufacturer_part_number") or "",
        "gtin": _gtins(packaging_gtins + ([gudid_di] if gudid_di.isdigit() else [])),
        "ndc": standardized.get("ndc") or "",
        "unspsc": standardized.get("unspsc") or "",
    }


def label(row: dict) -> str:
    description = " ".join(str(row.get("description") or "").split())
    description = description if len(description) <= 80 else description[:79] + "…"
    extra = " · ".join(str(row.get(key)) for key in ("manufacturer", "part_number") if row.get(key))
    return f"{description} ({extra})" if extra else description


ADAPTER = MatchingAdapter(
    spec=SPEC,
    label=label,
    golden_rows=golden_rows,
    source_row=source_row,
    watch=(("items.ItemPackagingLevel", "item_id"),),
)
