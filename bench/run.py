"""Benchmarks for the foundation: ingest throughput and memory, list/search/filter latency at 100k rows.

    make bench                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm make bench    # PostgreSQL
    BENCH_ROWS=20000 make bench                  # a smaller master

Runs against a scratch database (created and dropped), so it never touches your data.
"""

import datetime as dt
import json
import os
import random
import sys
import time
import tracemalloc

from bench.harness import machine, percentiles, scratch_database, setup_django, timed

ROWS = int(os.environ.get("BENCH_ROWS", 100_000))
INGEST_BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", 10))
REPEAT = int(os.environ.get("BENCH_REPEAT", 15))
WORDS = [
    "CATHETER",
    "GLOVE",
    "NITRILE",
    "SUTURE",
    "SYRINGE",
    "SCREW",
    "PLATE",
    "STENT",
    "DRESSING",
    "GAUZE",
    "VALVE",
    "SENSOR",
    "TUBING",
    "NEEDLE",
    "SPONGE",
    "DRAPE",
    "GOWN",
    "MASK",
    "CANNULA",
    "CLAMP",
]


def gtin(rng: random.Random, indicator: int) -> str:
    from stdnum import ean

    body = f"{indicator}{rng.randrange(10**11, 10**12)}"
    return body + ean.calc_check_digit(body)


def item_payload(rng: random.Random, n: int) -> dict:
    ref = f"{rng.randrange(10**11, 10**12)}"
    from stdnum import ean

    def level_gtin(indicator):
        body = f"{indicator}0{ref[1:]}"
        return body + ean.calc_check_digit(body)

    return {
        "description": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.randint(1, 40)}X{rng.randint(1, 90)}MM #{n}",
        "manufacturer": f"Maker {rng.randint(1, 150)} Inc.",
        "manufacturer_part_number": f"MP-{n:07d}",
        "item_type": rng.choice(["med_surg", "implant", "lab", "equipment"]),
        "unspsc": rng.choice(["42132203", "42295100", "42312000", "41116100"]),
        "sterile": rng.choice([True, False, None]),
        "base_unit": "EA",
        "packaging": [
            {"unit": "EA", "quantity": 1, "gtin": level_gtin(0)},
            {"unit": "BX", "quantity": rng.choice([10, 12, 50, 100]), "gtin": level_gtin(1)},
            {"unit": "CS", "quantity": rng.choice([4, 6, 10]), "gtin": level_gtin(2)},
        ],
    }


def bench_ingest(results: dict) -> None:
    from mdm.models import SourceSystem
    from mdm.services.ingest import source_records_ingest

    system = SourceSystem.objects.create(name="bench-catalog", kind="file")
    rng = random.Random(7)
    batches = [
        [{"external_id": f"b{b}-{i}", "payload": item_payload(rng, b * 1000 + i)} for i in range(1000)]
        for b in range(INGEST_BATCHES)
    ]
    new_ms, same_ms, changed_ms = [], [], []
    for records in batches:
        start = time.perf_counter()
        source_records_ingest(system=system, entity_type="item", records=records)
        new_ms.append((time.perf_counter() - start) * 1000)
    for records in batches:
        start = time.perf_counter()
        source_records_ingest(system=system, entity_type="item", records=records)
        same_ms.append((time.perf_counter() - start) * 1000)
    for records in batches:
        for r in records:
            r["payload"]["short_name"] = "changed"
        start = time.perf_counter()
        source_records_ingest(system=system, entity_type="item", records=records)
        changed_ms.append((time.perf_counter() - start) * 1000)
    tracemalloc.start()
    source_records_ingest(
        system=system,
        entity_type="item",
        records=[{"external_id": f"mem-{i}", "payload": item_payload(rng, 10**7 + i)} for i in range(1000)],
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["ingest"] = {
        "batch_size": 1000,
        "batches": INGEST_BATCHES,
        "new_records_ms_per_batch": percentiles(new_ms),
        "unchanged_ms_per_batch": percentiles(same_ms),
        "new_version_ms_per_batch": percentiles(changed_ms),
        "new_records_per_s": round(1000 * 1000 / percentiles(new_ms)["p50"]),
        "unchanged_records_per_s": round(1000 * 1000 / percentiles(same_ms)["p50"]),
        "peak_python_memory_mib_per_batch": round(peak / 2**20, 1),
    }


def seed_items(rows: int) -> str:
    """Bulk-load ``rows`` golden items with 3 packaging levels each (with history rows for as_of)."""
    from simple_history.utils import bulk_create_with_history

    from items.models import Item, ItemPackagingLevel
    from uom.models import Unit

    units = {u.code: u for u in Unit.objects.all()}
    rng = random.Random(11)
    chunk = 5000
    sample_gtin = ""
    for start in range(0, rows, chunk):
        items = []
        payloads = []
        for n in range(start, min(rows, start + chunk)):
            p = item_payload(rng, n)
            payloads.append(p)
            items.append(
                Item(
                    description=p["description"],
                    manufacturer_name=p["manufacturer"],
                    manufacturer_part_number=p["manufacturer_part_number"],
                    part_number_key=p["manufacturer_part_number"].replace("-", ""),
                    item_type=p["item_type"],
                    unspsc=p["unspsc"],
                    sterile=p["sterile"],
                    base_unit=units["EA"],
                )
            )
        created = bulk_create_with_history(items, Item, batch_size=1000, default_change_reason="bench seed")
        if len(created) and created[0].pk is None:  # backends without RETURNING
            created = list(Item.objects.order_by("-id")[: len(items)])[::-1]
        levels = []
        for item, p in zip(created, payloads, strict=True):
            for level, pack in enumerate(p["packaging"]):
                levels.append(
                    ItemPackagingLevel(
                        item=item, level=level, unit=units[pack["unit"]], quantity=pack["quantity"], gtin=pack["gtin"]
                    )
                )
        ItemPackagingLevel.objects.bulk_create(levels, batch_size=2000)
        sample_gtin = payloads[len(payloads) // 2]["packaging"][1]["gtin"]
    return sample_gtin


def seed_suppliers(rows: int) -> str:
    """Bulk-load ``rows`` golden suppliers with an alias and an address each (history rows included)."""
    from simple_history.utils import bulk_create_with_history

    from suppliers.models import Supplier, SupplierAddress, SupplierAlias

    rng = random.Random(13)
    chunk = 5000
    sample_duns = ""
    for start in range(0, rows, chunk):
        suppliers = [
            Supplier(
                legal_name=f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} Medical {n} Inc.",
                duns=f"{rng.randrange(10**8, 10**9)}",
                screening_status=rng.choice(["clear", "not_screened", "flagged"]),
            )
            for n in range(start, min(rows, start + chunk))
        ]
        created = bulk_create_with_history(suppliers, Supplier, batch_size=1000, default_change_reason="bench seed")
        if len(created) and created[0].pk is None:
            created = list(Supplier.objects.order_by("-id")[: len(suppliers)])[::-1]
        SupplierAlias.objects.bulk_create(
            [SupplierAlias(supplier=s, name=s.legal_name.upper().replace(" INC.", "")) for s in created],
            batch_size=2000,
        )
        SupplierAddress.objects.bulk_create(
            [
                SupplierAddress(supplier=s, kind="remit_to", line1="1 Main St", city="Chicago", country="US")
                for s in created
            ],
            batch_size=2000,
        )
        sample_duns = created[len(created) // 2].duns
    return sample_duns


def bench_lists(results: dict) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    started = time.perf_counter()
    sample_gtin = seed_items(ROWS)
    sample_duns = seed_suppliers(ROWS)
    results["seed_seconds"] = round(time.perf_counter() - started, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    as_of = (timezone.now() + dt.timedelta(seconds=1)).isoformat()
    admin = User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    client = Client()
    client.force_login(admin)
    last_page = ROWS // 50
    cases = {
        "API list, page 1": ("/api/v1/items/", {}),
        f"API list, page {last_page} (deep offset)": ("/api/v1/items/", {"page": last_page}),
        "API search ?search=catheter (common word, ~10% of rows)": ("/api/v1/items/", {"search": "catheter"}),
        "API search ?search=MP-0050 (rare)": ("/api/v1/items/", {"search": "MP-0050"}),
        "API filter ?gtin= (package level)": ("/api/v1/items/", {"gtin": sample_gtin}),
        "API filter ?item_type=implant&unspsc_segment=42": (
            "/api/v1/items/",
            {"item_type": "implant", "unspsc_segment": "42"},
        ),
        "API ?as_of= list, page 1": ("/api/v1/items/", {"as_of": as_of}),
        "admin changelist": ("/admin/items/item/", {}),
        "admin search q=catheter (common word)": ("/admin/items/item/", {"q": "catheter"}),
        "admin search q=MP-0050 (rare)": ("/admin/items/item/", {"q": "MP-0050"}),
        "admin search q=<GTIN of a box>": ("/admin/items/item/", {"q": sample_gtin}),
        "admin filter item_type=implant": ("/admin/items/item/", {"item_type__exact": "implant"}),
        "API suppliers list, page 1": ("/api/v1/suppliers/", {}),
        "API suppliers search ?search=catheter": ("/api/v1/suppliers/", {"search": "catheter"}),
        "API suppliers filter ?duns=": ("/api/v1/suppliers/", {"duns": sample_duns}),
        "admin suppliers changelist": ("/admin/suppliers/supplier/", {}),
        "admin suppliers search q=<duns>": ("/admin/suppliers/supplier/", {"q": sample_duns}),
        "admin suppliers search q=catheter (common word)": ("/admin/suppliers/supplier/", {"q": "catheter"}),
        "admin suppliers search q=Medical 4242 (rare)": ("/admin/suppliers/supplier/", {"q": "Medical 4242 "}),
    }
    out = {}
    for name, (url, params) in cases.items():
        response = client.get(url, params, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (name, response.status_code, response.content[:300])
        reset_queries()  # the log is cleared at each request start; begin the capture from an empty log
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, params, HTTP_ACCEPT="application/json")
        stats = timed(lambda url=url, params=params: client.get(url, params, HTTP_ACCEPT="application/json"), REPEAT)
        out[name] = {**stats, "queries": len(ctx.captured_queries)}
        print(
            f"  {name}: p50 {stats['p50']} ms, p95 {stats['p95']} ms, {len(ctx.captured_queries)} queries", flush=True
        )
    results["lists"] = out


def main() -> int:
    setup_django()
    from uom.services import unit_create

    results: dict = {"date": dt.date.today().isoformat(), "rows": ROWS}
    with scratch_database():
        results["machine"] = machine()
        print(f"machine: {results['machine']}", flush=True)
        for code, name in (("EA", "Each"), ("BX", "Box"), ("CS", "Case")):
            unit_create(code=code, name=name, dimension="count", actor=None, reason="bench")
        print("ingest ...", flush=True)
        bench_ingest(results)
        print(json.dumps(results["ingest"], indent=2), flush=True)
        print(f"seeding {ROWS} items ...", flush=True)
        bench_lists(results)
    out_path = os.path.join(os.path.dirname(__file__), f"last-{results['machine'].rsplit(' ', 1)[-1]}.json")
    with open(out_path, "w") as fh:
        json.dump(results, fh, indent=2)
    print(f"written {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
