"""``python -m mdm.matching`` end to end, as a subprocess on small CSV files."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import item_records

ROOT = Path(__file__).resolve().parents[2]
SPEC = {
    "entity": "item",
    "id": "id",
    "fields": [
        {"name": "description", "kind": "text"},
        {"name": "manufacturer", "kind": "org_name"},
        {"name": "part_number", "kind": "identifier", "identifier": "part_number"},
        {"name": "gtin", "kind": "identifier", "identifier": "gtin", "multi": True},
    ],
}


def _run(*args):
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "mdm.matching", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _write(path, records, columns=("id", "description", "manufacturer", "part_number", "gtin"), bom=False):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for r in records:
            writer.writerow([r.get(c) or "" for c in columns])


@pytest.fixture
def files(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    data = tmp_path / "items.csv"
    _write(data, item_records(), bom=True)
    return tmp_path, spec, data


def _read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dedupe(files):
    tmp, spec, data = files
    out, clusters = tmp / "pairs.csv", tmp / "clusters.csv"
    done = _run("dedupe", "--spec", spec, "--input", data, "--output", out, "--clusters", clusters, "--workers", "1")
    assert done.returncode == 0, done.stderr
    rows = _read(out)
    assert list(rows[0]) == ["left_id", "right_id", "probability", "band"]
    assert {r["band"] for r in rows} <= {"match", "review"}
    assert ("8", "9") in {(r["left_id"], r["right_id"]) for r in rows if r["band"] == "match"}
    cluster_rows = _read(clusters)
    assert list(cluster_rows[0]) == ["record_id", "cluster_id"]
    assert len(cluster_rows) == len(item_records())
    assert {r["record_id"]: r["cluster_id"] for r in cluster_rows}["9"] == "8"
    assert "candidate pairs" in done.stderr  # progress and timings


def test_dedupe_with_explanations_is_deterministic(files):
    tmp, spec, data = files
    first, second = tmp / "a.csv", tmp / "b.csv"
    for out in (first, second):
        done = _run("dedupe", "--spec", spec, "--input", data, "--output", out, "--explain", "--quiet")
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()
    row = _read(first)[0]
    explanation = json.loads(row["explanation"])
    assert explanation["band"] == row["band"]
    total = explanation["prior_weight"] + sum(f["weight"] for f in explanation["fields"])
    assert total == pytest.approx(explanation["match_weight"])


def test_link(files):
    tmp, spec, _ = files
    records = item_records()
    left, right, out = tmp / "left.csv", tmp / "right.csv", tmp / "pairs.csv"
    _write(left, [r for r in records if int(r["id"]) % 2])
    _write(right, [r for r in records if not int(r["id"]) % 2])
    done = _run("link", "--spec", spec, "--left", left, "--right", right, "--output", out)
    assert done.returncode == 0, done.stderr
    rows = _read(out)
    assert rows and all(int(r["left_id"]) % 2 == 1 and int(r["right_id"]) % 2 == 0 for r in rows)


def test_bad_spec_is_a_clear_error(files):
    tmp, _, data = files
    bad = tmp / "bad.json"
    bad.write_text(json.dumps({**SPEC, "fields": [{"name": "description", "kind": "prose"}]}), encoding="utf-8")
    out = tmp / "pairs.csv"
    done = _run("dedupe", "--spec", bad, "--input", data, "--output", out)
    assert done.returncode == 2
    assert "field 'description': unknown kind 'prose'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_missing_column_is_named(files):
    tmp, spec, _ = files
    data = tmp / "thin.csv"
    _write(data, item_records(), columns=("id", "description", "manufacturer", "gtin"))
    out = tmp / "pairs.csv"
    done = _run("dedupe", "--spec", spec, "--input", data, "--output", out)
    assert done.returncode == 2
    assert "has no column 'part_number'" in done.stderr
    assert not out.exists()


def test_duplicate_ids_are_refused(files):
    tmp, spec, _ = files
    data = tmp / "dup.csv"
    records = item_records()
    _write(data, records + [records[0]])
    done = _run("dedupe", "--spec", spec, "--input", data, "--output", tmp / "pairs.csv")
    assert done.returncode == 2 and "record id '1' occurs twice" in done.stderr


def test_the_engine_imports_without_django_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import mdm.matching, sys; print(any(m.startswith('mdm.matching') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    sources = (ROOT / "mdm" / "matching").rglob("*.py")
    assert not [p.name for p in sources if "import django" in p.read_text() or "from django" in p.read_text()]


def test_candidates_file_holds_every_scored_pair(files):
    tmp, spec, data = files
    out, candidates = tmp / "pairs.csv", tmp / "candidates.csv"
    done = _run("dedupe", "--spec", spec, "--input", data, "--output", out, "--candidates", candidates, "--quiet")
    assert done.returncode == 0, done.stderr
    blocked = {(r["left_id"], r["right_id"]) for r in _read(candidates)}
    proposed = {(r["left_id"], r["right_id"]) for r in _read(out)}
    assert proposed and proposed <= blocked, "a proposed pair must have come out of blocking"
    assert all(left != right for left, right in blocked)
