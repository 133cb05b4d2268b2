"""Seeded generator of healthcare item and supplier records with known duplicates (stdlib only).

    python -m bench.matching.generate items --size 100k [--seed 20261124] [--out var/bench/matching]
    python -m bench.matching.generate suppliers --size 10k

Writes ``<out>/<kind>-<size>/records.csv`` (what a matcher sees), ``truth.csv`` (``id,entity_id,family_id``:
records with one entity id are the same real thing; one family id marks siblings and related companies,
the hard negatives) and ``meta.json`` (seed, counts, duplicate rate). The same seed and size always give
byte-identical files.

Each true entity appears 1..5 times (weights 45/30/13/8/4 %, mean 1.96 records per entity), once per feed
that carries it, so about 77 % of records have at least one true duplicate (0.8 true pairs per record),
whatever the size.
"""

import argparse
import csv
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

from bench.matching import items, suppliers

GENERATOR_VERSION = 2
DEFAULT_SEED = 20261124
COPY_WEIGHTS = {1: 0.45, 2: 0.30, 3: 0.13, 4: 0.08, 5: 0.04}
REPO = Path(__file__).resolve().parents[2]


def parse_size(text: str) -> int:
    """``10k`` -> 10000, ``1m`` -> 1000000, ``2500`` -> 2500."""
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise ValueError(f"size {text!r}: expected a number such as 2500, 10k or 1m") from None
    if value < 1:
        raise ValueError(f"size {text!r}: must be at least 1 record")
    return value


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def gudid_dir() -> Path:
    """The shared GUDID sample: $MDM_GUDID_DIR, else ../shared/data/gudid_2016_sample beside the checkout."""
    env = os.environ.get("MDM_GUDID_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared/data/gudid_2016_sample", Path("/work/shared/data/gudid_2016_sample")]
    for c in candidates:
        if (c / "devices.csv").exists():
            return c
    raise FileNotFoundError(
        "GUDID sample not found: set MDM_GUDID_DIR to the folder holding devices.csv and identifiers.csv"
    )


def load_devices(devices_csv: Path | None = None) -> list[dict]:
    """The real GUDID devices (default: the shared 50k sample) plus the med-surg consumable families."""
    if devices_csv is None:
        folder = gudid_dir()
        devices = items.load_gudid(folder / "devices.csv", folder / "identifiers.csv")
    else:
        devices = items.load_gudid(Path(devices_csv))
    return devices + items.consumables()


def _copies(rng: random.Random) -> int:
    return rng.choices(list(COPY_WEIGHTS), weights=list(COPY_WEIGHTS.values()))[0]


def generate(kind: str, n: int, seed: int = DEFAULT_SEED, devices: list[dict] | None = None):
    """Return (columns, rows, truth, meta) for ``n`` records of ``kind`` ("items" or "suppliers").

    ``rows`` are tuples in ``columns`` order; ``truth`` is a list of (id, entity_id, family_id).
    """
    if kind not in ("items", "suppliers"):
        raise ValueError(f"kind {kind!r}: expected 'items' or 'suppliers'")
    pool_rng = random.Random(f"{seed}:{kind}:pool")
    rng = random.Random(f"{seed}:{kind}:{n}")
    if kind == "items":
        devices = devices if devices is not None else load_devices()
        pool = items.entity_pool(devices, pool_rng)
        feeds, weights, render, columns, prefix = (
            items.FEEDS,
            items.FEED_WEIGHTS,
            items.render,
            items.ITEM_COLUMNS,
            "I",
        )
    else:
        devices = devices if devices is not None else load_devices()
        companies = sorted({d["manufacturer"] for d in devices})
        pool = suppliers.entity_pool(pool_rng, companies)
        feeds, weights, render, columns, prefix = (
            suppliers.FEEDS,
            suppliers.FEED_WEIGHTS,
            suppliers.render,
            suppliers.SUPPLIER_COLUMNS,
            "S",
        )
    records = []  # (entity index, family index, fields...)
    families: dict[str, int] = {}
    entity_index = 0
    copies_hist: Counter = Counter()
    while len(records) < n:
        entity = next(pool)
        entity_index += 1
        family = families.setdefault(entity["family"], len(families) + 1)
        k = min(_copies(rng), n - len(records))
        copies_hist[k] += 1
        for feed in rng.choices(feeds, weights=weights, k=k):
            records.append((entity_index, family, *render(entity, feed, rng)))
    rng.shuffle(records)
    width = max(7, len(str(n)))
    rows, truth = [], []
    for i, rec in enumerate(records, 1):
        rid = f"{prefix}{i:0{width}d}"
        rows.append((rid, *rec[2:]))
        truth.append((rid, f"E{rec[0]:0{width}d}", f"F{rec[1]:0{width}d}"))
    true_pairs = sum(k * (k - 1) // 2 * c for k, c in copies_hist.items())
    in_dupes = sum(k * c for k, c in copies_hist.items() if k > 1)
    meta = {
        "kind": kind,
        "records": n,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "entities": entity_index,
        "families": len(families),
        "records_per_entity": round(n / entity_index, 3),
        "records_with_a_true_duplicate": in_dupes,
        "duplicate_rate": round(in_dupes / n, 4),
        "true_pairs": true_pairs,
        "entities_by_copies": {str(k): copies_hist[k] for k in sorted(copies_hist)},
    }
    return columns, rows, truth, meta


def write(out_dir: Path, columns, rows, truth, meta) -> None:
    """Write records.csv, truth.csv and meta.json into ``out_dir`` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
    with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "entity_id", "family_id"])
        w.writerows(truth)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def ensure(kind: str, n: int, root: Path, seed: int = DEFAULT_SEED) -> Path:
    """Generate ``<root>/<kind>-<size>`` unless a complete copy made with the same seed is already there."""
    out = root / f"{kind}-{size_label(n)}"
    meta_path = out / "meta.json"
    if meta_path.exists() and (out / "records.csv").exists() and (out / "truth.csv").exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("seed") == seed and meta.get("generator_version") == GENERATOR_VERSION:
            return out
    write(out, *generate(kind, n, seed))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching.generate", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["items", "suppliers"])
    parser.add_argument("--size", default="10k", help="records: 2500, 10k, 100k, 1m (default 10k)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=REPO / "var/bench/matching")
    args = parser.parse_args(argv)
    try:
        n = parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    target = args.out / f"{args.kind}-{size_label(n)}"
    columns, rows, truth, meta = generate(args.kind, n, args.seed)
    write(target, columns, rows, truth, meta)
    print(json.dumps({"written": str(target), **meta}), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
