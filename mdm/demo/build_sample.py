"""Build the shipped demo sample ``mdm/data/gudid_demo_sample.csv`` from the FDA GUDID extract.

Usage::

    python -m mdm.demo.build_sample /work/shared/data/gudid_2016_sample [--out mdm/data/gudid_demo_sample.csv]

The source directory holds ``devices.csv`` and ``identifiers.csv`` (FDA GUDID via openFDA, CC0 1.0,
exported 2016-08-25). The selection is deterministic (a fixed seed, sorted inputs):

* every device with two or more package levels (the interesting packaging hierarchies);
* every device whose primary DI fails the GS1 check digit (real data errors, for the quarantine);
* the rest drawn round-robin over the labelers, in short runs of neighbouring catalogue entries so
  that sibling sizes ("...4.0X18" next to "...4.0X20") appear together, as they do in real catalogues.

One row per device: the GUDID device columns unedited, plus ``packages``: a JSON list of the package
levels from the innermost outwards, each ``{"di", "contains", "quantity"}``.

Only the standard library is used, so the script runs anywhere.
"""

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

DEVICE_COLUMNS = [
    "primary_di",
    "brand_name",
    "version_model_number",
    "catalog_number",
    "company_name",
    "device_count",
    "device_description",
    "commercial_distribution_status",
    "is_kit",
    "gmdn_pt_names",
    "fda_product_codes",
]
SAMPLE_COLUMNS = [*DEVICE_COLUMNS, "packages"]
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "gudid_demo_sample.csv"
SEED = 20160825
TARGET = 1200
RUN_LENGTHS = (1, 2, 3)


def gtin_is_valid(value: str) -> bool:
    """GS1 mod-10 check digit (GTIN-8/12/13/14)."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in value]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def package_chain(primary_di: str, packages: list[dict]) -> list[dict]:
    """Package levels ordered from the one holding the primary DI outwards (a chain, as GUDID links them)."""
    by_child = {p["contains_di_number"]: p for p in packages}
    chain, current, seen = [], primary_di, set()
    while current in by_child and current not in seen:
        seen.add(current)
        level = by_child[current]
        chain.append({"di": level["device_id"], "contains": current, "quantity": int(level["pkg_quantity"] or 1)})
        current = level["device_id"]
    # Levels not on the chain (a second pack of the same child) follow in DI order.
    on_chain = {level["di"] for level in chain}
    for extra in sorted(packages, key=lambda p: p["device_id"]):
        if extra["device_id"] not in on_chain:
            chain.append(
                {
                    "di": extra["device_id"],
                    "contains": extra["contains_di_number"],
                    "quantity": int(extra["pkg_quantity"] or 1),
                }
            )
    return chain


def select(
    devices: list[dict], packages_of: dict[str, list[dict]], target: int = TARGET, seed: int = SEED
) -> list[dict]:
    """The deterministic subset, in the source file's order."""
    rng = random.Random(seed)
    chosen: set[str] = set()
    for device in devices:
        di = device["primary_di"]
        if len(packages_of.get(di, [])) >= 2 or not gtin_is_valid(di):
            chosen.add(di)

    by_labeler: dict[str, list[str]] = defaultdict(list)
    for device in devices:
        by_labeler[device["company_name"]].append(device["primary_di"])
    labelers = sorted(by_labeler)
    # Each labeler offers its catalogue from a random starting point; runs of 1-3 neighbours are taken in turn.
    cursors = {}
    for name in labelers:
        dis = by_labeler[name]
        cursors[name] = rng.randrange(len(dis))
    exhausted: set[str] = set()
    while len(chosen) < target and len(exhausted) < len(labelers):
        for name in labelers:
            if len(chosen) >= target:
                break
            if name in exhausted:
                continue
            dis = by_labeler[name]
            if all(di in chosen for di in dis):
                exhausted.add(name)
                continue
            run = rng.choice(RUN_LENGTHS)
            start = cursors[name]
            taken = 0
            for offset in range(len(dis)):
                di = dis[(start + offset) % len(dis)]
                if di in chosen:
                    continue
                chosen.add(di)
                taken += 1
                if taken == run or len(chosen) >= target:
                    break
            # Jump ahead so the next run comes from another part of the catalogue.
            cursors[name] = (start + rng.randrange(7, 7 + max(len(dis) // 3, 1))) % len(dis)
    return [d for d in devices if d["primary_di"] in chosen]


def build(source_dir: Path, out: Path, target: int = TARGET) -> int:
    with open(source_dir / "devices.csv", encoding="utf-8", newline="") as fh:
        devices = list(csv.DictReader(fh))
    packages_of: dict[str, list[dict]] = defaultdict(list)
    with open(source_dir / "identifiers.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["device_id_type"] == "Package":
                packages_of[row["primary_di"]].append(row)
    rows = select(devices, packages_of, target=target)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SAMPLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for device in rows:
            chain = package_chain(device["primary_di"], packages_of.get(device["primary_di"], []))
            writer.writerow(
                {**{c: device[c] for c in DEVICE_COLUMNS}, "packages": json.dumps(chain, separators=(",", ":"))}
            )
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source_dir", type=Path, help="directory with devices.csv and identifiers.csv")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--target", type=int, default=TARGET)
    args = parser.parse_args(argv)
    count = build(args.source_dir, args.out, target=args.target)
    print(f"{count} devices -> {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
