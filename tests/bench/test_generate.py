"""The generator: same seed, same bytes; truth that agrees with the records; hard negatives present."""

import csv
import hashlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bench.matching import generate, items, metrics, noise

DEMO = Path(__file__).resolve().parents[2] / "mdm/data/gudid_demo_sample.csv"


@pytest.fixture(scope="module")
def devices():
    return generate.load_devices(DEMO)


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "records.csv").read_bytes() + (folder / "truth.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["items", "suppliers"])
def test_same_seed_same_files_other_seed_other_files(kind, devices, tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate.write(tmp_path / name, *generate.generate(kind, 1500, seed, devices=devices))
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


@pytest.mark.parametrize("kind", ["items", "suppliers"])
def test_truth_covers_every_record_once_and_meta_counts_agree(kind, devices):
    columns, rows, truth, meta = generate.generate(kind, 3000, 11, devices=devices)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == 3000
    assert [t[0] for t in truth] == ids
    assert all(len(r) == len(columns) for r in rows)
    entity = {rid: e for rid, e, _ in truth}
    per_entity = defaultdict(int)
    for e in entity.values():
        per_entity[e] += 1
    assert len(per_entity) == meta["entities"]
    assert max(per_entity.values()) <= max(generate.COPY_WEIGHTS)
    assert len(metrics.true_pairs(entity)) == meta["true_pairs"]
    assert meta["records_with_a_true_duplicate"] == sum(c for c in per_entity.values() if c > 1)
    # One entity never spans two families: siblings are other entities of the same family.
    family_of = {}
    for _, e, f in truth:
        assert family_of.setdefault(e, f) == f


def _gtin14(value: str) -> str:
    digits = re.sub(r"\D", "", value.replace("(01)", "", 1))
    return digits.zfill(14)


def test_an_item_gtin_belongs_to_one_entity_only(devices):
    """Variants beyond the real devices get GTINs of their own, so a shared GTIN is always a true match."""
    columns, rows, truth, _ = generate.generate("items", 4000, 3, devices=devices)
    entity = {rid: e for rid, e, _ in truth}
    col = columns.index("gtin")
    owners = defaultdict(set)
    for row in rows:
        for value in filter(None, row[col].split("|")):
            gtin = _gtin14(value)
            assert noise.gs1_check_digit(gtin[:-1]) == gtin[-1] or gtin in {d["gtin"] for d in devices}
            owners[gtin].add(entity[row[0]])
    assert owners and all(len(e) == 1 for e in owners.values())


def test_supplier_duns_and_ein_belong_to_one_entity_only(devices):
    columns, rows, truth, _ = generate.generate("suppliers", 3000, 5, devices=devices)
    entity = {rid: e for rid, e, _ in truth}
    for name in ("duns", "ein"):
        col = columns.index(name)
        owners = defaultdict(set)
        for row in rows:
            if row[col]:
                owners[re.sub(r"\D", "", row[col])].add(entity[row[0]])
        assert owners and all(len(e) == 1 for e in owners.values()), name


def test_beyond_the_real_devices_variants_are_distinct_siblings(devices):
    """The demo sample has ~1.2k devices: 6k records need variants, which share a family but not an entity."""
    _, rows, truth, meta = generate.generate("items", 6000, 1, devices=devices)
    assert meta["entities"] > len(devices)
    entities_per_family = defaultdict(set)
    for _, e, f in truth:
        entities_per_family[f].add(e)
    assert max(len(e) for e in entities_per_family.values()) > 5


def test_make_variant_moves_one_size_and_changes_part_number_and_gtin():
    base = {
        "description": "TOMCAT,SCREW,ST,4.0X18",
        "brand": "TOMCAT",
        "manufacturer": "Choice Spine, LP",
        "part_number": "PP20-4018",
        "alt_part_number": "",
        "gtin": "00840996100014",
        "packages": [],
        "category": "",
        "device_count": 1,
        "family": "x",
    }
    v = items.make_variant(base, 1, {base["gtin"]}, {(base["manufacturer"], base["part_number"])})
    assert v["description"] in ("TOMCAT,SCREW,ST,4.5X18", "TOMCAT,SCREW,ST,4.0X20")
    assert v["part_number"] == "PP20-4019"
    assert v["gtin"] != base["gtin"] and noise.gs1_check_digit(v["gtin"][:-1]) == v["gtin"][-1]


def test_records_carry_feed_noise(devices):
    columns, rows, _, _ = generate.generate("items", 3000, 2, devices=devices)
    desc = [r[columns.index("description")] for r in rows]
    pn = [r[columns.index("part_number")] for r in rows]
    gtin = [r[columns.index("gtin")] for r in rows]
    assert any(d.isupper() for d in desc) and any(not d.isupper() for d in desc)
    assert sum(1 for g in gtin if not g) > len(rows) * 0.3  # distributor and ERP feeds often lack the GTIN
    assert any("|" in g for g in gtin)  # manufacturer feeds list the package GTINs too
    assert sum(1 for p in pn if not p) > 0


def test_sizes_parse_and_bad_sizes_are_refused():
    assert generate.parse_size("10k") == 10_000
    assert generate.parse_size("1m") == 1_000_000
    assert generate.parse_size("2500") == 2500
    assert generate.size_label(100_000) == "100k"
    for bad in ("ten", "0", "-5k"):
        with pytest.raises(ValueError, match="size"):
            generate.parse_size(bad)


def test_noise_helpers():
    assert noise.mojibake("ARROW®") == "ARROWÂ®"
    assert noise.mojibake("PLAIN") == "PLAIN"
    assert noise.gs1_check_digit("0084458801892") == "3"
    import random

    rng = random.Random(0)
    for _ in range(200):
        text = "SCREW CANNULATED 7.5X55MM"
        garbled = noise.typo(text, rng)
        assert re.findall(r"\d+", garbled) == re.findall(r"\d+", text)
    assert items.split_legal("Bard Access Systems, Inc.") == ("Bard Access Systems", "INC")
    assert items.split_legal("MEDLINE IND LP") == ("MEDLINE IND", "LP")


def test_written_files_are_plain_csv(devices, tmp_path):
    generate.write(tmp_path / "s", *generate.generate("suppliers", 200, 1, devices=devices))
    with (tmp_path / "s/records.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["id", "name", "duns", "ein", "address", "city", "postcode", "state", "phone"]
