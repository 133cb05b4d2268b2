"""The entity registry: how domain apps join the shared MDM machinery without ``mdm`` importing them.

Each domain app registers an :class:`EntitySpec` in ``AppConfig.ready()``. The ingest service uses the
spec's payload serializer to validate and standardize source payloads, and its ``create_golden`` to
build a golden record from a source record (initial loads, demo data, stewards' "create new").
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class MatchingAdapter:
    """How the matching engine sees one entity type: a flat record per golden record or source payload.

    ``spec`` is the engine's field spec (the same dict a spec file holds; the id field is ``id``).
    """

    spec: dict
    golden_rows: Callable[[list[int] | None], Any]
    """``golden_rows(ids)`` yields flat rows (``id`` = the golden pk) of the given golden records, or of every
    matchable one when ``ids`` is None. Rows are dicts with the spec's field names; lists for multi fields."""
    source_row: Callable[[dict], dict]
    """A flat row (without ``id``) from a source record's standardized payload."""
    watch: tuple[tuple[str, str], ...] = ()
    """Child models whose saves change a golden record's row: ``(app_label.Model, golden fk attname)``."""
    create_new: bool = True
    """Create a golden record for a source record that matches nothing (incremental matching)."""
    label: Callable[[dict], str] = field(default=lambda row: str(row.get("id", "")))
    """A short human label for a flat row (match results, the review inbox)."""


@dataclass(frozen=True)
class EntitySpec:
    entity_type: str
    """Stable key used in the API, in source records and in crosswalks: ``supplier``, ``item``..."""
    label: str
    model_label: str
    """``app_label.ModelName`` of the golden model."""
    payload_serializer: type
    """A DRF serializer: validates one source payload; ``validated_data`` is the standardized form.
    It receives ``context={"system": SourceSystem}``."""
    create_golden: Callable[..., Any] | None = None
    """``create_golden(standardized: dict, *, system, actor, reason) -> golden instance``."""
    display: Callable[[dict], str] = field(default=lambda payload: "")
    """A short human label for a payload (list pages, reports)."""
    api_path: str = ""
    """The golden records' list endpoint under /api/v1/, e.g. ``suppliers``."""
    secret_paths: tuple[str, ...] = ()
    """Dotted paths of secret payload values (``bank_accounts.*.iban``): sealed at rest, masked on display."""

    matching: MatchingAdapter | None = None
    """How duplicates of this entity type are found (``None``: not matched)."""

    @property
    def model(self):
        return apps.get_model(self.model_label)


_REGISTRY: dict[str, EntitySpec] = {}


def register(spec: EntitySpec) -> None:
    existing = _REGISTRY.get(spec.entity_type)
    if existing is not None and existing != spec:
        raise ValueError(f"entity type {spec.entity_type!r} is already registered by {existing.model_label}")
    _REGISTRY[spec.entity_type] = spec


def get(entity_type: str) -> EntitySpec:
    """The spec for ``entity_type``; ``KeyError`` names the known types."""
    try:
        return _REGISTRY[entity_type]
    except KeyError:
        raise KeyError(f"unknown entity type {entity_type!r}; expected one of: {', '.join(entity_types())}") from None


def entity_types() -> list[str]:
    return sorted(_REGISTRY)


def all_specs() -> list[EntitySpec]:
    return [_REGISTRY[key] for key in entity_types()]
