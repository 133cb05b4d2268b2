"""The declarative field spec: which column is the id and what kind each compared field is."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .identifiers import IDENTIFIER_TYPES

KINDS = ("org_name", "person_name", "text", "identifier", "code", "numeric", "address", "date")
# Kinds whose values make blocking keys unless the field says otherwise.
_BLOCK_BY_DEFAULT = {"org_name", "person_name", "text", "identifier", "code", "address", "date"}
DEFAULT_MATCH_THRESHOLD = 0.9
DEFAULT_REVIEW_THRESHOLD = 0.5


@dataclass(frozen=True)
class FieldSpec:
    """One compared field.

    ``kind`` picks the standardizer, blocking keys and comparator; ``weight`` scales the field's evidence (1 = as
    estimated, 0 = ignore, 2 = count double); ``identifier`` names the identifier type for ``kind="identifier"``
    (gtin, ndc, duns, ein, part_number, generic); ``multi`` accepts several values (a list or ``|``-joined);
    ``block`` overrides whether the field makes blocking keys.
    """

    name: str
    kind: str
    weight: float = 1.0
    identifier: str | None = None
    multi: bool = False
    block: bool | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("field name must be a non-empty string")
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "identifier":
            if self.identifier is None:
                object.__setattr__(self, "identifier", "generic")
            elif self.identifier not in IDENTIFIER_TYPES:
                raise ValueError(
                    f"field {self.name!r}: unknown identifier type {self.identifier!r}; "
                    f"expected one of {', '.join(IDENTIFIER_TYPES)}"
                )
        elif self.identifier is not None:
            raise ValueError(f"field {self.name!r}: 'identifier' is only allowed for kind 'identifier'")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float) or self.weight < 0:
            raise ValueError(f"field {self.name!r}: weight must be a number >= 0, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))
        if self.block is not None and not isinstance(self.block, bool):
            raise ValueError(f"field {self.name!r}: block must be true or false, got {self.block!r}")
        if not isinstance(self.multi, bool):
            raise ValueError(f"field {self.name!r}: multi must be true or false, got {self.multi!r}")

    @property
    def blocks(self) -> bool:
        return self.block if self.block is not None else self.kind in _BLOCK_BY_DEFAULT


_FIELD_KEYS = {"name", "kind", "weight", "identifier", "multi", "block"}
_SPEC_KEYS = {"entity", "id", "id_field", "fields", "thresholds", "abbreviations"}


@dataclass(frozen=True)
class MatchSpec:
    """An entity's matching spec: the id column, the compared fields, the decision thresholds (probabilities)."""

    entity: str
    id_field: str
    fields: tuple[FieldSpec, ...]
    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    abbreviations: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if not isinstance(self.entity, str) or not self.entity:
            raise ValueError("'entity' must be a non-empty string")
        if not isinstance(self.id_field, str) or not self.id_field:
            raise ValueError("'id' must name the id column")
        object.__setattr__(self, "fields", tuple(self.fields))
        if not self.fields:
            raise ValueError("'fields' must list at least one field")
        names = [f.name for f in self.fields]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"field {name!r} is listed twice in 'fields'")
        if self.id_field in names:
            raise ValueError(f"field {self.id_field!r} is the id column and cannot be compared")
        for key in ("match_threshold", "review_threshold"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ValueError(f"thresholds: {key.split('_')[0]!r} must be a probability between 0 and 1")
        if self.review_threshold > self.match_threshold:
            raise ValueError("thresholds: 'review' must not be above 'match'")
        object.__setattr__(self, "abbreviations", tuple(str(p) for p in self.abbreviations))

    @classmethod
    def from_dict(cls, data: dict, base_dir: str | Path | None = None) -> MatchSpec:
        """Build a spec from its file form; a ``ValueError`` names the bad key or field.

        Relative abbreviation file paths are resolved against ``base_dir`` (the spec file's folder).
        """
        if not isinstance(data, dict):
            raise ValueError("a match spec must be a mapping (JSON object / TOML table)")
        unknown = set(data) - _SPEC_KEYS
        if unknown:
            raise ValueError(f"unknown key {sorted(unknown)[0]!r} in match spec; expected {sorted(_SPEC_KEYS)}")
        for required in ("entity", "fields"):
            if required not in data:
                raise ValueError(f"match spec lacks the key {required!r}")
        id_field = data.get("id", data.get("id_field"))
        if id_field is None:
            raise ValueError("match spec lacks the key 'id' (the id column)")
        raw_fields = data["fields"]
        if not isinstance(raw_fields, list):
            raise ValueError("'fields' must be a list of field tables")
        fields = []
        for pos, raw in enumerate(raw_fields):
            if not isinstance(raw, dict):
                raise ValueError(f"fields[{pos}] must be a table with 'name' and 'kind'")
            label = raw.get("name", f"fields[{pos}]")
            unknown = set(raw) - _FIELD_KEYS
            if unknown:
                raise ValueError(f"field {label!r}: unknown key {sorted(unknown)[0]!r}; expected {sorted(_FIELD_KEYS)}")
            for required in ("name", "kind"):
                if required not in raw:
                    raise ValueError(f"field {label!r} lacks the key {required!r}")
            fields.append(FieldSpec(**raw))
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, dict):
            raise ValueError("'thresholds' must be a table with 'match' and/or 'review'")
        unknown = set(thresholds) - {"match", "review"}
        if unknown:
            raise ValueError(f"thresholds: unknown key {sorted(unknown)[0]!r}; expected 'match' and 'review'")
        abbreviations = data.get("abbreviations") or []
        if isinstance(abbreviations, str) or not isinstance(abbreviations, list):
            raise ValueError("'abbreviations' must be a list of CSV file paths")
        base = Path(base_dir) if base_dir is not None else None
        paths = tuple(
            str(base / p) if base is not None and not Path(p).is_absolute() else str(p) for p in abbreviations
        )
        return cls(
            entity=data["entity"],
            id_field=id_field,
            fields=tuple(fields),
            match_threshold=thresholds.get("match", DEFAULT_MATCH_THRESHOLD),
            review_threshold=thresholds.get("review", DEFAULT_REVIEW_THRESHOLD),
            abbreviations=paths,
        )

    def to_dict(self) -> dict:
        fields = []
        for f in self.fields:
            item = {"name": f.name, "kind": f.kind}
            if f.weight != 1.0:
                item["weight"] = f.weight
            if f.identifier and f.kind == "identifier":
                item["identifier"] = f.identifier
            if f.multi:
                item["multi"] = True
            if f.block is not None:
                item["block"] = f.block
            fields.append(item)
        return {
            "entity": self.entity,
            "id": self.id_field,
            "fields": fields,
            "thresholds": {"match": self.match_threshold, "review": self.review_threshold},
            "abbreviations": list(self.abbreviations),
        }


def load_spec(path: str | Path) -> MatchSpec:
    """Read a spec file (``.json`` or ``.toml``); ``ValueError`` says what is wrong, naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"spec file {str(path)!r} cannot be read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(
            f"spec file {str(path)!r} is not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {exc}"
        ) from exc
    try:
        return MatchSpec.from_dict(data, base_dir=path.parent)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"spec file {str(path)!r}: {exc}") from exc
