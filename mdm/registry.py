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
class StewardshipAdapter:
    """How stewards change one entity type: its editable fields, how to read, validate and write them.

    Change requests (``mdm.services.changes``) call these; ``mdm`` never imports the domain app.
    Values are JSON-safe: foreign keys as codes or ids, dates as ISO strings, child rows as lists of dicts.
    """

    fields: tuple[str, ...]
    """Editable fields in form order (scalars, and child collections such as ``bank_accounts``)."""
    snapshot: Callable[[Any], dict]
    """``snapshot(obj)`` -> {field: value} of the editable fields; secrets masked (the diff shows ••••1234)."""
    validate: Callable[[dict, Any], dict]
    """``validate(changes, obj_or_None)`` -> normalized changes; raises ``ValidationError`` keyed by field."""
    create: Callable[..., Any]
    """``create(data, *, actor, reason)`` -> new golden record (validated data; all fields)."""
    update: Callable[..., Any]
    """``update(obj, changes, *, actor, reason)`` -> the saved record (only the changed fields are given)."""
    labels: dict = field(default_factory=dict)
    """Field -> human label (defaults to the model field's verbose name)."""
    sensitive: tuple[str, ...] = ()
    """Fields whose change needs two approvers (a supplier's bank accounts and tax identifiers)."""
    low_risk: tuple[str, ...] = ()
    """Fields a trusted source may change without a person approving (recorded as auto-approved)."""
    scope: Callable[[Any, dict], dict] = field(default=lambda obj, values: {})
    """``scope(obj)`` -> {"category": UNSPSC code, "supplier_id": id}: which approvers answer for the record."""
    survivorship: dict = field(default_factory=dict)
    """Field -> rule (``trust``, ``recent``, ``complete``); fields not named are not survived from sources."""
    source_values: Callable[[dict], dict] = field(default=lambda standardized: {})
    """A source record's standardized payload -> {field: value} in the golden record's terms."""
    merge_children: Callable[..., list] | None = None
    """``merge_children(survivor, merged, *, actor, reason)`` -> moves [{model, pk, field, old, new}] of the
    record's own rows (packaging levels, aliases) taken over by the survivor. References from other
    golden models (contract prices) are repointed by ``mdm`` itself."""
    search: Callable[[str], Any] | None = None
    """``search(text)`` -> queryset of golden records for the UI's search box."""
    label: Callable[[Any], str] = field(default=str)


def _strip(value: str) -> str:
    return " ".join(str(value).split())


@dataclass(frozen=True)
class AccessAttribute:
    """An attribute the records of one entity type carry that access limits may restrict on (``mdm.access``).

    A user with an ``AccessLimit`` on it sees only the records whose attribute has one of the limit's values.
    """

    filter: Callable[[list[str]], Any]
    """``filter(values)`` -> a ``Q`` on the golden model admitting the records with any of ``values``. It is
    also applied to the model's history (``?as_of`` reads), so it names the record's own columns or joins
    through foreign keys."""
    description: str = ""
    """What a value is, for the admin form and its errors ("UNSPSC segment, family, class or commodity")."""
    clean: Callable[[str], str] = field(default=_strip)
    """``clean(value)`` -> the stored form of one value; raises ``ValidationError`` saying what is wrong."""


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
    stewardship: StewardshipAdapter | None = None
    """How stewards edit, merge and survive this entity type (``None``: not editable in the UI)."""
    publish: Callable[[Any], dict] | None = None
    """``publish(golden) -> dict``: the record as downstream systems receive it (outbox payload; see sync/).
    Secret values at ``secret_paths`` are sealed by the caller. ``None``: never syndicated."""
    access_attributes: dict[str, AccessAttribute] = field(default_factory=dict)
    """Attributes access limits may restrict this entity type on (``category``, ``facility``); empty: none,
    the role's permissions alone decide who reads its records."""
    access_through: tuple[tuple[str, str], ...] = ()
    """``(entity_type, foreign key)`` of the records this one refers to whose access limits apply to it too:
    a contract price is seen only when its item and its contract are (``(("item", "item"), ("contract",
    "contract"))``)."""

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


def for_model(model) -> EntitySpec | None:
    """The spec whose golden model is ``model`` (a class), or None."""
    label = f"{model._meta.app_label}.{model.__name__}"
    for spec in _REGISTRY.values():
        if spec.model_label == label:
            return spec
    return None


def all_specs() -> list[EntitySpec]:
    return [_REGISTRY[key] for key in entity_types()]
