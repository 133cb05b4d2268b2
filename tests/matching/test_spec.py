"""Spec files: JSON and TOML, and a clear error naming the bad key or field."""

import json

import pytest

from mdm.matching import FieldSpec, MatchSpec, load_spec

GOOD = {
    "entity": "item",
    "id": "id",
    "fields": [
        {"name": "description", "kind": "text"},
        {"name": "gtin", "kind": "identifier", "identifier": "gtin", "multi": True},
        {"name": "maker", "kind": "org_name", "weight": 0.5, "block": False},
    ],
    "thresholds": {"match": 0.95, "review": 0.6},
    "abbreviations": ["extra.csv"],
}


def test_json_spec(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    spec = load_spec(path)
    assert spec.entity == "item" and spec.id_field == "id"
    assert spec.fields[1] == FieldSpec("gtin", "identifier", identifier="gtin", multi=True)
    assert spec.fields[2].weight == 0.5 and spec.fields[2].blocks is False
    assert spec.match_threshold == 0.95 and spec.review_threshold == 0.6
    assert spec.abbreviations == (str(tmp_path / "extra.csv"),)  # relative to the spec file
    assert MatchSpec.from_dict(spec.to_dict()) == spec


def test_toml_spec(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(
        'entity = "supplier"\nid = "code"\n[[fields]]\nname = "name"\nkind = "org_name"\n'
        '[[fields]]\nname = "duns"\nkind = "identifier"\nidentifier = "duns"\n',
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert [f.name for f in spec.fields] == ["name", "duns"]
    assert spec.match_threshold == 0.9  # default


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"fields": [{"name": "x", "kind": "blob"}]}, "field 'x': unknown kind 'blob'"),
        ({"fields": [{"name": "x", "kind": "identifier", "identifier": "isbn"}]}, "unknown identifier type 'isbn'"),
        ({"fields": [{"name": "x", "kind": "text", "wieght": 2}]}, "field 'x': unknown key 'wieght'"),
        ({"fields": [{"kind": "text"}]}, "lacks the key 'name'"),
        ({"fields": [{"name": "x", "kind": "text", "weight": -1}]}, "field 'x': weight must be a number >= 0"),
        ({"fields": [{"name": "x", "kind": "text"}, {"name": "x", "kind": "code"}]}, "field 'x' is listed twice"),
        ({"fields": []}, "at least one field"),
        ({"thresholds": {"match": 1.5}}, "'match' must be a probability"),
        ({"thresholds": {"match": 0.5, "review": 0.8}}, "'review' must not be above 'match'"),
        ({"thresholds": {"auto": 0.5}}, "unknown key 'auto'"),
        ({"abbreviations": "file.csv"}, "'abbreviations' must be a list"),
    ],
)
def test_bad_spec_names_the_problem(change, message):
    data = {**GOOD, **change}
    with pytest.raises(ValueError, match=message):
        MatchSpec.from_dict(data)


def test_missing_id_and_id_compared():
    data = {k: v for k, v in GOOD.items() if k != "id"}
    with pytest.raises(ValueError, match="lacks the key 'id'"):
        MatchSpec.from_dict(data)
    with pytest.raises(ValueError, match="is the id column"):
        MatchSpec.from_dict({**GOOD, "id": "description"})


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ValueError, match="cannot be read"):
        load_spec(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_spec(bad)
    bad_field = tmp_path / "field.toml"
    bad_field.write_text('entity = "x"\nid = "id"\n[[fields]]\nname = "n"\nkind = "nope"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"field\.toml.*field 'n': unknown kind 'nope'"):
        load_spec(bad_field)
