"""Attribute-based access limits: which golden records a person sees, on top of what their role lets them read.

An ``AccessLimit`` row limits a user (or every member of a group) to the records of one entity type whose
attribute has one of the row's values: items of UNSPSC category 42, contracts of North Campus. The entity
types declare their attributes in the registry (``EntitySpec.access_attributes``); ``mdm`` never imports them.

The rules:

- No limits for an entity type: the role's permissions alone decide (nothing changes for most people).
- Several limits for one entity type (the user's own and their groups'): a record one of them admits is seen
  (they OR together), whatever the attribute.
- A record is also limited through the records it refers to (``EntitySpec.access_through``): a contract price
  of an item outside the user's item limits is not seen either, nor one on a contract outside their
  contract limits. Limits of different entity types AND together this way.
- Superusers are never limited.
- A record outside the limits is treated exactly like one that does not exist (a 404 with the same message).
- A limit row that no longer makes sense (its entity type or attribute was removed) admits nothing: limits
  fail closed.

The limits are read once per user object (one query) and kept on it, like Django's permission cache: a
request sees the limits as they were when it started. :func:`forget` drops them (tests, long-lived objects).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable
from functools import reduce

from django.core.exceptions import ValidationError
from django.db.models import Q

from mdm import registry

logger = logging.getLogger(__name__)

_CACHE = "_mdm_access_limits"
_NOTHING = Q(pk__in=[])


# --- reading the limits ---------------------------------------------------------------------------------------


def _unlimited(user) -> bool:
    return user is None or not getattr(user, "is_authenticated", False) or user.is_superuser


def limits_for(user) -> dict[str, list[Q]]:
    """``{entity_type: [Q, ...]}``: one filter per limit row of the user and their groups (cached on ``user``).

    Empty for anonymous users, superusers and everybody without limits. The filters are on the entity's
    golden model; a record is admitted when one of its type's filters matches it.
    """
    if _unlimited(user):
        return {}
    cached = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    from mdm.models import AccessLimit

    rows = AccessLimit.objects.filter(Q(user_id=user.pk) | Q(group__in=user.groups.all())).order_by("pk")
    limits: dict[str, list[Q]] = {}
    for row in rows.values("pk", "entity_type", "attribute", "values"):
        limits.setdefault(row["entity_type"], []).append(_row_filter(row))
    setattr(user, _CACHE, limits)
    return limits


def forget(user) -> None:
    """Drop the limits cached on ``user`` (after its limits or groups changed)."""
    if user is not None and hasattr(user, _CACHE):
        delattr(user, _CACHE)


def _row_filter(row: dict) -> Q:
    """The filter of one limit row; a row that no longer matches the registry admits nothing (fail closed)."""
    try:
        attribute = registry.get(row["entity_type"]).access_attributes[row["attribute"]]
    except KeyError:
        logger.warning(
            "Access limit %s names %s.%s, which is not declared: it admits nothing.",
            row["pk"],
            row["entity_type"],
            row["attribute"],
        )
        return _NOTHING
    values = (
        [str(value) for value in row["values"] or [] if str(value).strip()] if isinstance(row["values"], list) else []
    )
    return attribute.filter(values) if values else _NOTHING


def limit_q(user, entity_type: str) -> Q | None:
    """The filter on ``entity_type``'s golden model admitting what ``user`` may see; None when not limited.

    Combines the type's own limits (OR) with the limits of the records it refers to (AND, through
    ``EntitySpec.access_through``, as subqueries).
    """
    if not _limitable(entity_type):
        return None  # suppliers, units: no attribute to limit on, so no query for the user's limits either
    limits = limits_for(user)
    if not limits:
        return None
    return _limit_q(limits, entity_type, frozenset())


def _limitable(entity_type: str, seen: frozenset = frozenset()) -> bool:
    try:
        spec = registry.get(entity_type)
    except KeyError:
        return True  # unknown types fall through to the fail-closed path
    if spec.access_attributes:
        return True
    return any(
        _limitable(other, seen | {entity_type}) for other, _ in spec.access_through if other not in seen | {entity_type}
    )


def _limit_q(limits: dict[str, list[Q]], entity_type: str, seen: frozenset) -> Q | None:
    own = limits.get(entity_type)
    q = reduce(operator.or_, own) if own else None
    try:
        spec = registry.get(entity_type)
    except KeyError:
        return q
    for other_type, field_name in spec.access_through:
        if other_type in seen or other_type == entity_type:
            continue
        other = _limit_q(limits, other_type, seen | {entity_type})
        if other is None:
            continue
        other_model = registry.get(other_type).model
        through = Q(**{f"{field_name}__in": other_model._default_manager.filter(other).values("pk")})
        q = through if q is None else q & through
    return q


def limit_queryset(user, entity_type: str, qs):
    """``qs`` (of ``entity_type``'s golden model, or of its history for ``as_of`` reads) cut to ``user``'s limits."""
    q = limit_q(user, entity_type)
    return qs if q is None else qs.filter(q)


def admitted_ids(user, entity_type: str):
    """A subquery of the golden ids ``user`` may see of ``entity_type``; None when not limited."""
    q = limit_q(user, entity_type)
    if q is None:
        return None
    return registry.get(entity_type).model._default_manager.filter(q).values("pk")


def admits(user, entity_type: str, obj_or_id) -> bool:
    """True when ``user`` may see the golden record (an instance, a historical instance or an id)."""
    q = limit_q(user, entity_type)
    if q is None:
        return True
    object_id = obj_or_id
    if hasattr(obj_or_id, "_meta"):
        # A historical row's pk is its history id; the record's own id is ``id``.
        object_id = getattr(obj_or_id, "id", None) or obj_or_id.pk
    return registry.get(entity_type).model._default_manager.filter(q, pk=object_id).exists()


def is_limited(user, entity_type: str) -> bool:
    return limit_q(user, entity_type) is not None


def limit_references(user, qs, *, type_field: str = "entity_type", id_fields: Iterable[str] = ("object_id",)):
    """Rows that refer to golden records by ``(entity type, id)`` (change requests, match proposals), cut to the
    records ``user`` may see: a row whose referenced record lies outside the limits is left out. A row whose id
    is empty (a proposal to create a record) refers to nothing and stays."""
    limits = limits_for(user)
    if not limits:
        return qs
    id_fields = tuple(id_fields)
    limited = Q()
    kept = Q()
    any_limited = False
    for entity_type in registry.entity_types():
        ids = admitted_ids(user, entity_type)
        if ids is None:
            continue
        any_limited = True
        limited |= Q(**{type_field: entity_type})
        within = Q(**{type_field: entity_type})
        for name in id_fields:
            within &= Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__in": ids})
        kept |= within
    if not any_limited:
        return qs
    return qs.filter(~limited | kept)


# --- validating limit rows ------------------------------------------------------------------------------------


def limitable_types() -> dict[str, list[str]]:
    """``{entity_type: [attribute, ...]}`` of the types that declare attributes access limits can use."""
    return {spec.entity_type: sorted(spec.access_attributes) for spec in registry.all_specs() if spec.access_attributes}


def _declared_text() -> str:
    return "; ".join(f"{entity_type} ({', '.join(names)})" for entity_type, names in limitable_types().items())


def clean_limit(entity_type: str, attribute: str, values) -> list[str]:
    """The stored form of a limit's values; raises ``ValidationError`` keyed by field saying what is wrong.

    The entity type must be registered and declare ``attribute``; ``values`` is a non-empty list of
    non-empty strings, each normalized by the attribute's ``clean`` (UNSPSC prefixes, facility names).
    """
    try:
        spec = registry.get(entity_type)
    except KeyError:
        raise ValidationError(
            {"entity_type": [f"Unknown entity type '{entity_type}'; limits can be set on: {_declared_text()}."]}
        ) from None
    if not spec.access_attributes:
        raise ValidationError(
            {
                "entity_type": [
                    f"{spec.label} records carry no attribute access limits can use; limits can be set on: "
                    f"{_declared_text()}."
                ]
            }
        )
    declared = spec.access_attributes.get(attribute)
    if declared is None:
        raise ValidationError(
            {
                "attribute": [
                    f"{spec.label} records have no attribute '{attribute}' for access limits; "
                    f"declared: {', '.join(sorted(spec.access_attributes))}."
                ]
            }
        )
    if not isinstance(values, list) or not values:
        what = f" ({declared.description})" if declared.description else ""
        raise ValidationError({"values": [f"Give a list of at least one {attribute} value{what}."]})
    cleaned, errors = [], []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{value!r} is not a {attribute} value: each value is a non-empty text.")
            continue
        try:
            value = declared.clean(value)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if value not in cleaned:
            cleaned.append(value)
    if errors:
        raise ValidationError({"values": errors})
    return cleaned
