"""Benchmark for the price lookup and comparison at 1M price lines (issue 4: lookup p95 5 ms or less).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm python -m bench.prices    # PostgreSQL (the target)
    python -m bench.prices                                                      # SQLite
    BENCH_PRICE_LINES=200000 BENCH_PRICE_LOOKUPS=300 python -m bench.prices     # smaller

Builds a scratch database (created and dropped): 200 suppliers with a local, a GPO and a distributor
contract each, ``BENCH_PRICE_LINES / 40`` items packed EA -> BX -> CS, and 40 price lines per item (5
contracts x 2 yearly terms x 4 lines: per EA, per BX from 1 and from 10, per CS) with their prices per base
unit, loaded with COPY on PostgreSQL (bulk inserts on SQLite). Then measures, on random items, quantities,
units and dates: ``contracts.lookup.price_lookup`` (best across suppliers, and for one supplier),
``price_compare``, and the two API views through the full Django stack (token authentication, permission
check, JSON). Prints a Markdown table.
"""

import datetime as dt
import logging
import os
import random
import statistics
import sys
import time
from decimal import Decimal

from bench.harness import machine, scratch_database, setup_django

LINES = int(os.environ.get("BENCH_PRICE_LINES", 1_000_000))
LOOKUPS = int(os.environ.get("BENCH_PRICE_LOOKUPS", 1000))
SUPPLIERS = 200
CONTRACTS_PER_ITEM = 5
LINES_PER_ITEM = CONTRACTS_PER_ITEM * 2 * 4
TERMS = ((dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
TARGET_MS = 5.0
CHUNK = 20_000


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def _seed_masters(items: int):
    """Units, suppliers, contracts and packed items, in bulk. Returns (units, contracts, item ids, boxes)."""
    from contracts.models import Contract
    from items.models import Item, ItemPackagingLevel
    from suppliers.models import Supplier
    from uom.models import Unit

    units = {}
    for code, name in (("EA", "Each"), ("BX", "Box"), ("CS", "Case")):
        units[code], _ = Unit.objects.get_or_create(code=code, defaults={"name": name, "dimension": "count"})
    suppliers = Supplier.objects.bulk_create(
        [Supplier(legal_name=f"Bench Medical Supply {n} Inc.") for n in range(SUPPLIERS)]
    )
    if suppliers[0].pk is None:
        suppliers = list(Supplier.objects.order_by("id"))
    contracts = []
    for supplier in suppliers:
        for kind in ("local", "gpo", "distributor"):
            contracts.append(
                Contract(
                    number=f"{kind.upper()}-{supplier.pk}",
                    supplier=supplier,
                    kind=kind,
                    gpo_name="Bench GPO" if kind == "gpo" else "",
                    start_date=dt.date(2024, 1, 1),
                    end_date=dt.date(2027, 12, 31),
                    currency="USD",
                )
            )
    Contract.objects.bulk_create(contracts)
    contracts = list(Contract.objects.order_by("id").values_list("id", "kind", "supplier_id"))
    rng = random.Random(41)
    boxes: dict[int, int] = {}
    for start in range(0, items, CHUNK):
        batch = [
            Item(description=f"Bench glove {n}", item_type="med_surg", base_unit=units["EA"])
            for n in range(start, min(items, start + CHUNK))
        ]
        created = Item.objects.bulk_create(batch)
        if created[0].pk is None:
            created = list(Item.objects.order_by("-id")[: len(batch)])[::-1]
        levels = []
        for item in created:
            per_box, per_case = rng.choice((10, 12, 50, 100)), rng.choice((4, 6, 10))
            boxes[item.pk] = (per_box, per_case)
            levels += [
                ItemPackagingLevel(item=item, level=0, unit=units["EA"], quantity=1),
                ItemPackagingLevel(item=item, level=1, unit=units["BX"], quantity=per_box),
                ItemPackagingLevel(item=item, level=2, unit=units["CS"], quantity=per_case),
            ]
        ItemPackagingLevel.objects.bulk_create(levels, batch_size=5000)
    return units, contracts, boxes


def _price_rows(units, contracts, boxes, rng: random.Random):
    """Yield the price lines as tuples in the COPY column order (see ``COLUMNS``)."""
    from contracts.models import per_base_unit

    kind_factor = {"local": Decimal("0.95"), "gpo": Decimal("0.90"), "distributor": Decimal("1.05")}
    now = dt.datetime.now(dt.UTC)
    for item_id, (per_box, per_case) in boxes.items():
        each = Decimal(rng.randint(5, 400)).scaleb(-2)  # 0.05 .. 4.00 per each
        for contract_id, kind, _ in rng.sample(contracts, CONTRACTS_PER_ITEM):
            spread = Decimal(rng.randint(85, 115)) / 100 * kind_factor[kind]
            for start, end in TERMS:
                for unit, factor, tier, discount in (
                    ("EA", 1, 1, Decimal("1")),
                    ("BX", per_box, 1, Decimal("0.97")),
                    ("BX", per_box, 10, Decimal("0.93")),
                    ("CS", per_box * per_case, 1, Decimal("0.90")),
                ):
                    price = (each * factor * spread * discount).quantize(Decimal("0.0001"))
                    yield (
                        "active",
                        1,
                        now,
                        now,
                        contract_id,
                        item_id,
                        units[unit].pk,
                        price,
                        tier,
                        start,
                        end,
                        per_base_unit(price, Decimal(factor)),
                        units["EA"].pk,
                    )


COLUMNS = (
    "status",
    "version",
    "created_at",
    "updated_at",
    "contract_id",
    "item_id",
    "unit_id",
    "price",
    "min_quantity",
    "start_date",
    "end_date",
    "price_per_base_unit",
    "base_unit_id",
)


def seed(lines: int) -> dict:
    """Load ``lines`` price lines (COPY on PostgreSQL). Returns what the measurements need."""
    from django.db import connection

    from contracts.models import ContractPrice

    items = max(1, lines // LINES_PER_ITEM)
    started = time.perf_counter()
    units, contracts, boxes = _seed_masters(items)
    masters_s = time.perf_counter() - started
    rng = random.Random(43)
    rows = _price_rows(units, contracts, boxes, rng)
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY contracts_contractprice ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute("ANALYZE")
    else:
        batch = []
        for row in rows:
            batch.append(ContractPrice(**dict(zip(COLUMNS, row, strict=True))))
            if len(batch) == CHUNK:
                ContractPrice.objects.bulk_create(batch)
                batch = []
        ContractPrice.objects.bulk_create(batch)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    lines_s = time.perf_counter() - started
    return {
        "items": list(boxes),
        "contracts": contracts,
        "lines": ContractPrice.objects.count(),
        "masters_s": masters_s,
        "lines_s": lines_s,
    }


def _cases(data: dict, rng: random.Random, n: int) -> list[dict]:
    """Random orders: an item, a quantity in EA, BX or CS, a day in the two terms (or just after)."""
    supplier_of = {contract_id: supplier_id for contract_id, _, supplier_id in data["contracts"]}
    from contracts.models import ContractPrice

    cases = []
    for _ in range(n):
        item_id = rng.choice(data["items"])
        unit = rng.choice(("EA", "BX", "CS"))
        quantity = Decimal(rng.choice({"EA": (1, 7, 40, 250, 1200), "BX": (1, 2, 10, 25), "CS": (1, 3)}[unit]))
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 760))  # ~4 % after the last term: 404s
        cases.append({"item_id": item_id, "quantity": quantity, "unit": unit, "on_date": day})
    # A supplier that prices the item, for the per-supplier lookups.
    contract_of = dict(
        ContractPrice.objects.filter(item_id__in={c["item_id"] for c in cases}).values_list("item_id", "contract_id")
    )
    for case in cases:
        case["supplier_id"] = supplier_of[contract_of[case["item_id"]]]
    return cases


def _time(fn, cases) -> dict:
    for case in cases[:20]:  # warm: connections, the unit registry, the permission cache
        fn(case)
    samples = []
    for case in cases:
        start = time.perf_counter()
        fn(case)
        samples.append((time.perf_counter() - start) * 1000)
    return _stats(samples)


def measure(data: dict) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from contracts import candidates as lookup_candidates
    from contracts.lookup import price_candidates, price_compare, price_lookup

    rng = random.Random(47)
    cases = _cases(data, rng, LOOKUPS)
    found = [price_lookup(**{k: v for k, v in c.items() if k != "supplier_id"}).chosen is not None for c in cases]
    candidates = [len(price_candidates(item_id=c["item_id"], on_date=c["on_date"])) for c in cases[:100]]
    users = get_user_model().objects
    # A service account in the integration role: its permission check (two queries) is part of the cost.
    integration = users.create_user("bench-prices", password="bench-password")  # noqa: S106
    integration.groups.add(Group.objects.get(name="integration"))
    admin = users.create_superuser("bench-admin", password="bench-password")  # noqa: S106
    clients = {
        user: Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}") for user in (integration, admin)
    }

    def api(user, path, case, **extra):
        params = {"item": case["item_id"], "date": case["on_date"].isoformat(), **extra}
        response = clients[user].get(path, params)
        assert response.status_code in (200, 404), response.content[:300]

    def order(c, **extra):
        return price_lookup(item_id=c["item_id"], quantity=c["quantity"], unit=c["unit"], on_date=c["on_date"], **extra)

    def cold(c):
        lookup_candidates._PACKAGINGS.clear()  # every call reads the item's packaging through uom (a cache miss)
        return order(c)

    cold_stats = _time(cold, cases)
    for case in cases:  # the packaging of every item in the sample is cached from here on
        order(case)
    results = {
        "lookup, service, best across suppliers, packaging cache cold": cold_stats,
        "lookup, service, best across suppliers": _time(order, cases),
        "lookup, service, one supplier": _time(lambda c: order(c, supplier_id=c["supplier_id"]), cases),
        "lookup, API view (token, superuser, JSON)": _time(
            lambda c: api(admin, "/api/v1/prices/lookup/", c, qty=str(c["quantity"]), unit=c["unit"]), cases
        ),
        "lookup, API view (token, integration role, JSON)": _time(
            lambda c: api(integration, "/api/v1/prices/lookup/", c, qty=str(c["quantity"]), unit=c["unit"]), cases
        ),
        "compare, service": _time(lambda c: price_compare(item_id=c["item_id"], on_date=c["on_date"]), cases),
        "compare, API view (token, integration role, JSON)": _time(
            lambda c: api(integration, "/api/v1/prices/compare/", c), cases
        ),
    }
    plan = []
    if connection.vendor == "postgresql":
        sample = cases[0]
        params = [sample["item_id"], sample["item_id"], sample["on_date"], sample["on_date"], "retired"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + lookup_candidates._candidate_sql(False), params)
            plan = [row[0] for row in cursor.fetchall()]
    return {
        "timings": results,
        "found_share": sum(found) / len(found),
        "candidates_mean": statistics.fmean(candidates),
        "plan": plan,
    }


def report(data: dict, results: dict) -> str:
    lines = [
        f"{data['lines']:,} price lines, {len(data['items']):,} items, {len(data['contracts'])} contracts of "
        f"{SUPPLIERS} suppliers; {results['candidates_mean']:.1f} candidate lines per lookup on average; "
        f"{results['found_share']:.0%} of the random orders have an applicable price (the rest are 404s with the reason).",
        f"Seeded in {data['masters_s']:.1f} s (masters) + {data['lines_s']:.1f} s (price lines).",
        "",
        f"| measurement ({LOOKUPS} random orders each) | p50 ms | p95 ms | p99 ms | max ms | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, stats in results["timings"].items():
        target = f"p95 <= {TARGET_MS:g} ms" if name.startswith("lookup") else ""
        verdict = (" ok" if stats["p95"] <= TARGET_MS else " MISSED") if target else ""
        lines.append(
            f"| {name} | {stats['p50']:.2f} | {stats['p95']:.2f} | {stats['p99']:.2f} | {stats['max']:.2f} | "
            f"{target}{verdict} |"
        )
    if results["plan"]:
        lines += ["", "Candidate query plan (EXPLAIN ANALYZE, one lookup):", "", "```"]
        lines += results["plan"]
        lines += ["```"]
    lines += ["", f"Machine: {machine()}"]
    return "\n".join(lines)


def main() -> int:
    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 404s (no applicable price) are expected
    with scratch_database():
        data = seed(LINES)
        results = measure(data)
        text = report(data, results)
    print("## Price lookup at 1M price lines (issue 4)\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
