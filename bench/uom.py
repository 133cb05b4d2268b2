"""Benchmark for unit conversions: ``unit_convert`` and ``item_convert`` latency, and the convert API endpoint.

    python -m bench.uom                                              # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm python -m bench.uom    # PostgreSQL
    BENCH_UOM_CALLS=20000 BENCH_UOM_REQUESTS=500 python -m bench.uom

Target (issue 4): conversion p95 1 ms or less. Runs against a scratch database (created and dropped), with
the shipped code lists loaded and two real-shaped items (a case of boxes of gloves, a carton of 30 mL vials).
Prints a Markdown table.
"""

import os
import random
import statistics
import sys
import time
from decimal import Decimal

from bench.harness import machine, scratch_database, setup_django

CALLS = int(os.environ.get("BENCH_UOM_CALLS", 20_000))
REQUESTS = int(os.environ.get("BENCH_UOM_REQUESTS", 500))
TARGET_MS = 1.0

UNIT_PAIRS = [
    ("mg", "g"),
    ("MGM", "KGM"),
    ("mL", "L"),
    ("L", "ML"),
    ("[lb_av]", "g"),
    ("OZ", "G"),
    ("DZ", "EA"),
    ("mg/dL", "g/L"),
    ("MCG", "MG"),
    ("FR", "MM"),
]
GLOVE_PAIRS = [("CS", "EA"), ("EA", "CS"), ("BX", "EA"), ("CS", "BX"), ("EA", "BX"), ("XCS", "EA"), ("DZ", "BX")]
VIAL_PAIRS = [("CT", "ML"), ("ML", "VI"), ("CT", "L"), ("VI", "ML"), ("CT", "VI")]


def _stats(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] / 1e6

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": ordered[-1] / 1e6,
        "mean": statistics.fmean(ordered) / 1e6,
    }


def _quantities(rng: random.Random, n: int) -> list[str]:
    return [str(Decimal(rng.randint(1, 10**6)).scaleb(-rng.randint(0, 4))) for _ in range(n)]


def _setup():
    from django.contrib.auth import get_user_model

    from items.services import item_create
    from uom.services import unit_codes_load

    actor = get_user_model().objects.create_superuser("bench", password="bench-password")  # noqa: S106
    unit_codes_load(actor=actor)
    gloves = item_create(
        data={
            "description": "Nitrile exam gloves, medium",
            "item_type": "med_surg",
            "base_unit": "EA",
            "packaging": [
                {"unit": "EA", "quantity": 1},
                {"unit": "BX", "quantity": 100},
                {"unit": "CS", "quantity": 10},
            ],
        },
        actor=actor,
        reason="bench",
    )
    vials = item_create(
        data={
            "description": "Lidocaine 1% 30 mL multi-dose vial",
            "item_type": "drug",
            "base_unit": "VI",
            "content_quantity": Decimal(30),
            "content_unit": "ML",
            "packaging": [{"unit": "VI", "quantity": 1}, {"unit": "CT", "quantity": 25}],
        },
        actor=actor,
        reason="bench",
    )
    return actor, gloves, vials


def bench_functions(results: dict, gloves_id: int, vials_id: int) -> None:
    from uom.conversions import item_convert, packaging_for_item, unit_convert
    from uom.registry import get_index, registry_invalidate

    registry_invalidate()
    start = time.perf_counter()
    get_index()
    results["registry_load_ms"] = (time.perf_counter() - start) * 1000

    rng = random.Random(4)
    quantities = [Decimal(q) for q in _quantities(rng, CALLS)]
    pairs = [rng.choice(UNIT_PAIRS) for _ in range(CALLS)]
    for source, target in UNIT_PAIRS:  # first call per pair resolves and caches the factor
        unit_convert(Decimal(1), source, target)
    samples = []
    for qty, (source, target) in zip(quantities, pairs, strict=True):
        t0 = time.perf_counter_ns()
        unit_convert(qty, source, target)
        samples.append(time.perf_counter_ns() - t0)
    results["unit_convert"] = _stats(samples)

    gloves, vials = packaging_for_item(gloves_id), packaging_for_item(vials_id)
    jobs = [
        (gloves, *rng.choice(GLOVE_PAIRS)) if rng.random() < 0.6 else (vials, *rng.choice(VIAL_PAIRS))
        for _ in range(CALLS)
    ]
    for packaging, source, target in jobs[:50]:
        item_convert(packaging, Decimal(1), source, target)
    samples = []
    for qty, (packaging, source, target) in zip(quantities, jobs, strict=True):
        t0 = time.perf_counter_ns()
        item_convert(packaging, qty, source, target)
        samples.append(time.perf_counter_ns() - t0)
    results["item_convert"] = _stats(samples)

    # The item's packaging read from the database (what the API does once per request).
    samples = []
    for _ in range(min(CALLS, 2000)):
        t0 = time.perf_counter_ns()
        packaging_for_item(gloves_id)
        samples.append(time.perf_counter_ns() - t0)
    results["packaging_for_item"] = _stats(samples)


def bench_api(results: dict, actor, gloves_id: int, vials_id: int) -> None:
    from django.test import Client, override_settings

    from mdm.tokens import issue_token

    # Token authentication, as an integration calls the API (one query for the token, one conditional update of its
    # last use a minute at most; a browser session costs two). The rate limit would stop the run: it is lifted.
    _, secret = issue_token(actor, name="bench", scopes=["read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    rng = random.Random(5)
    quantities = _quantities(rng, REQUESTS)
    with override_settings(MDM_API_RATE_TOKEN="off"):  # noqa: S106 - a rate, not a password
        for name in ("api_unit", "api_item"):
            samples = []
            for i, qty in enumerate(quantities):
                if name == "api_unit":
                    source, target = UNIT_PAIRS[i % len(UNIT_PAIRS)]
                    params = {"qty": qty, "from": source, "to": target}
                else:
                    item, (source, target) = (
                        (gloves_id, GLOVE_PAIRS[i % len(GLOVE_PAIRS)])
                        if i % 2
                        else (vials_id, VIAL_PAIRS[i % len(VIAL_PAIRS)])
                    )
                    params = {"item": item, "qty": qty, "from": source, "to": target}
                t0 = time.perf_counter_ns()
                response = client.get("/api/v1/uom/convert/", params)
                samples.append(time.perf_counter_ns() - t0)
                if response.status_code != 200:
                    raise RuntimeError(f"{params}: {response.status_code} {response.content[:200]!r}")
            results[name] = _stats(samples[10:])  # the first requests warm the URL resolver and caches


def report(results: dict) -> str:
    rows = [
        ("`unit_convert` (mg->g, mg/dL->g/L, DZ->EA...)", results["unit_convert"], True),
        ("`item_convert` (CS->EA, CT->L through 30 mL/vial...)", results["item_convert"], True),
        ("`packaging_for_item` (1 query)", results["packaging_for_item"], False),
        ("`GET /api/v1/uom/convert/` plain units (Django test client, token auth)", results["api_unit"], False),
        ("`GET /api/v1/uom/convert/?item=` (Django test client, token auth)", results["api_item"], False),
    ]
    lines = [
        f"Machine: {machine()}",
        "",
        "| what | calls | p50 ms | p95 ms | p99 ms | max ms | conversion target p95 <= 1 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, stats, targeted in rows:
        verdict = ("met" if stats["p95"] <= TARGET_MS else "MISSED") if targeted else "-"
        lines.append(
            f"| {label} | {stats['n']} | {stats['p50']:.4f} | {stats['p95']:.4f} | {stats['p99']:.4f} | "
            f"{stats['max']:.3f} | {verdict} |"
        )
    lines.append("")
    lines.append(
        f"Registry load (code lists + unit tables, cold): {results['registry_load_ms']:.0f} ms once per process."
    )
    return "\n".join(lines)


def main() -> int:
    setup_django()
    results: dict = {}
    with scratch_database():
        actor, gloves, vials = _setup()
        bench_functions(results, gloves.pk, vials.pk)
        bench_api(results, actor, gloves.pk, vials.pk)
    print("## Unit conversions (issue 4)\n")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
