"""How the matching engine sees suppliers: legal name and aliases, tax and registry identifiers, main address."""

from mdm.choices import RecordStatus
from mdm.registry import MatchingAdapter

SPEC = {
    "entity": "supplier",
    "id": "id",
    "fields": [
        {"name": "name", "kind": "org_name"},
        {"name": "aliases", "kind": "org_name", "multi": True, "weight": 0.5},
        {"name": "duns", "kind": "identifier", "identifier": "duns"},
        {"name": "ein", "kind": "identifier", "identifier": "ein"},
        {"name": "vat", "kind": "identifier", "identifier": "generic"},
        {"name": "gln", "kind": "identifier", "identifier": "generic"},
        {"name": "address", "kind": "address"},
        {"name": "city", "kind": "code"},
        {"name": "postal_code", "kind": "code"},
        {"name": "country", "kind": "code"},
    ],
}


def _address_fields(address: dict | None) -> dict:
    address = address or {}
    return {
        "address": " ".join(part for part in (address.get("line1"), address.get("line2")) if part),
        "city": address.get("city") or "",
        "postal_code": address.get("postal_code") or "",
        "country": address.get("country") or "",
    }


def golden_rows(ids=None):
    """Flat rows of suppliers that are not retired, with aliases and the first address, chunk by chunk."""
    from suppliers.models import Supplier, SupplierAddress, SupplierAlias

    suppliers = Supplier.objects.exclude(status=RecordStatus.RETIRED).order_by("pk")
    if ids is not None:
        suppliers = suppliers.filter(pk__in=ids)
    fields = ("pk", "legal_name", "duns", "ein", "vat", "gln")
    chunk = 5000
    batch: list[tuple] = []

    def flush(batch):
        pks = [row[0] for row in batch]
        aliases: dict[int, list[str]] = {}
        for supplier_id, name in SupplierAlias.objects.filter(supplier_id__in=pks).values_list("supplier_id", "name"):
            aliases.setdefault(supplier_id, []).append(name)
        addresses: dict[int, dict] = {}
        address_fields = ("supplier_id", "line1", "line2", "city", "postal_code", "country")
        for row in SupplierAddress.objects.filter(supplier_id__in=pks).order_by("id").values(*address_fields):
            addresses.setdefault(row["supplier_id"], row)
        for pk, name, duns, ein, vat, gln in batch:
            yield {
                "id": pk,
                "name": name,
                "aliases": sorted(aliases.get(pk, [])),
                "duns": duns,
                "ein": ein,
                "vat": vat,
                "gln": gln,
                **_address_fields(addresses.get(pk)),
            }

    for row in suppliers.values_list(*fields).iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) == chunk:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


def source_row(standardized: dict) -> dict:
    addresses = standardized.get("addresses") or []
    return {
        "name": standardized.get("legal_name") or "",
        "aliases": sorted(standardized.get("aliases") or []),
        "duns": standardized.get("duns") or "",
        "ein": standardized.get("ein") or "",
        "vat": standardized.get("vat") or "",
        "gln": standardized.get("gln") or "",
        **_address_fields(addresses[0] if addresses else None),
    }


def label(row: dict) -> str:
    place = ", ".join(str(row.get(key)) for key in ("city", "country") if row.get(key))
    return f"{row.get('name') or ''} ({place})" if place else str(row.get("name") or "")


ADAPTER = MatchingAdapter(
    spec=SPEC,
    label=label,
    golden_rows=golden_rows,
    source_row=source_row,
    watch=(("suppliers.SupplierAlias", "supplier_id"), ("suppliers.SupplierAddress", "supplier_id")),
)
