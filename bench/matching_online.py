"""Online match latency: one record against a master of golden items, through the hub's service and its API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm .venv/bin/python -m bench.matching_online
    BENCH_ONLINE_ROWS=100000 ...          # a smaller master (default 1,000,000)

Loads the generated healthcare items (bench/matching/generate.py, the same data as the batch benchmark) as
golden items with their GTINs, writes their blocking keys with COPY (PostgreSQL) or bulk inserts, then times
``match_online`` and ``POST /api/v1/match/items/`` for records that are other feeds' copies of master items.
Runs in a scratch database (created and dropped).
"""

import csv
import datetime as dt
import io
import json
import os
import random
import sys
import time
from pathlib import Path

from bench.harness import machine, percentiles, scratch_database, setup_django

ROWS = int(os.environ.get("BENCH_ONLINE_ROWS", 1_000_000))
QUERIES = int(os.environ.get("BENCH_ONLINE_QUERIES", 300))
ROOT = Path(os.environ.get("BENCH_MATCHING_DIR", "var/bench/matching"))
CHUNK = 20_000


def _records(n: int) -> tuple[list[dict], dict[str, str]]:
    from bench.matching.generate import ensure

    folder = ensure("items", n, ROOT)
    with (folder / "records.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (folder / "truth.csv").open(encoding="utf-8") as fh:
        entity = {row["id"]: row["entity_id"] for row in csv.DictReader(fh)}
    return rows, entity


def load_master(rows: list[dict]) -> tuple[dict[str, int], float, int]:
    """Golden items, one per record (the first copy of each entity is the master; the rest are queries)."""
    from django.db import connection

    from items.models import Item, ItemPackagingLevel
    from mdm.identifiers import clean_gtin
    from mdm.services.matching import matcher_for
    from uom.models import Unit

    each = Unit.objects.get_or_create(code="EA", defaults={"name": "Each", "dimension": "count"})[0]
    ids: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        items = Item.objects.bulk_create(
            [
                Item(
                    description=row["description"][:2000] or "(none)",
                    manufacturer_name=row["manufacturer"][:255],
                    manufacturer_part_number=row["part_number"][:100],
                    item_type="med_surg",
                    base_unit=each,
                )
                for row in chunk
            ],
            batch_size=5000,
        )
        levels = []
        for row, item in zip(chunk, items, strict=True):
            ids[row["id"]] = item.pk
            for value in filter(None, row["gtin"].split("|")):
                try:
                    levels.append(ItemPackagingLevel(item=item, level=0, unit=each, quantity=1, gtin=clean_gtin(value)))
                    break
                except Exception:  # noqa: S112 - a deliberately corrupted GTIN in the data set
                    continue
        ItemPackagingLevel.objects.bulk_create(levels, batch_size=5000)
    matcher = matcher_for("item")
    from items.matching import golden_rows

    keys = 0
    with connection.cursor() as cursor:
        pg = connection.vendor == "postgresql"
        buffer = io.StringIO()
        pending: list[tuple[str, str, int]] = []
        for row in golden_rows(None):
            for key in set(matcher.record_keys(row)):
                keys += 1
                if pg:
                    clean = key[:255].replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
                    buffer.write(f"item\t{clean}\t{row['id']}\n")
                else:
                    pending.append(("item", key[:255], row["id"]))
            if pg and buffer.tell() > 32 * 2**20:
                _copy(cursor, buffer)
                buffer = io.StringIO()
        if pg:
            _copy(cursor, buffer)
        else:
            cursor.executemany("INSERT INTO mdm_matchkey (entity_type, key, golden_id) VALUES (%s, %s, %s)", pending)
        if pg:
            cursor.execute("ANALYZE mdm_matchkey")
            cursor.execute("ANALYZE items_item")
            cursor.execute("ANALYZE items_itempackaginglevel")
    return ids, time.perf_counter() - started, keys


def _copy(cursor, buffer: io.StringIO) -> None:
    buffer.seek(0)
    with cursor.cursor.copy("COPY mdm_matchkey (entity_type, key, golden_id) FROM STDIN") as copy:
        while data := buffer.read(2**20):
            copy.write(data)


def main() -> int:
    setup_django()
    from django.test import Client

    from mdm.services.matching import match_online

    all_rows, entity = _records(ROWS)
    masters, queries, seen = [], [], set()
    for row in all_rows:
        if entity[row["id"]] in seen:
            queries.append(row)
        else:
            seen.add(entity[row["id"]])
            masters.append(row)
    rng = random.Random(5)
    queries = rng.sample(queries, min(QUERIES, len(queries)))
    results: dict = {"machine": None, "date": dt.date.today().isoformat(), "rows": len(masters)}
    with scratch_database() as connection:
        results["machine"] = machine()
        results["database"] = connection.vendor
        ids, load_s, keys = load_master(masters)
        results["load_seconds"] = round(load_s, 1)
        results["keys"] = keys

        def record(row):
            return {
                "description": row["description"],
                "manufacturer": row["manufacturer"],
                "part_number": row["part_number"],
                "gtin": [g for g in row["gtin"].split("|") if g],
            }

        master_of = {entity[row["id"]]: ids[row["id"]] for row in masters}
        for query in queries[:20]:  # warm caches and the matcher
            match_online("item", record(query))
        service_ms, hits, top1 = [], 0, 0
        for query in queries:
            start = time.perf_counter()
            found = match_online("item", record(query), top_k=10)
            service_ms.append((time.perf_counter() - start) * 1000)
            expected = master_of.get(entity[query["id"]])
            hits += any(r["golden_id"] == expected for r in found)
            top1 += bool(found) and found[0]["golden_id"] == expected
        results["service_ms"] = percentiles(service_ms)
        results["recall_at_10"] = round(hits / len(queries), 3)
        results["top1"] = round(top1 / len(queries), 3)

        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
        client = Client()
        client.force_login(user)
        api_ms = []
        for query in queries:
            start = time.perf_counter()
            response = client.post("/api/v1/match/items/", json.dumps(record(query)), content_type="application/json")
            api_ms.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:500]
        results["api_ms"] = percentiles(api_ms)

    print(json.dumps(results, indent=2))
    print()
    print("| master | keys | queries | service p50 / p95 ms | API p50 / p95 ms | recall@10 | top-1 |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {results['rows']:,} golden items | {results['keys']:,} | {len(queries)} | "
        f"{results['service_ms']['p50']} / {results['service_ms']['p95']} | "
        f"{results['api_ms']['p50']} / {results['api_ms']['p95']} | {results['recall_at_10']} | {results['top1']} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
