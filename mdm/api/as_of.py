"""``?as_of=<ISO datetime>``: read golden records as they were at a point in time.

Backed by django-simple-history. Children declared with ``HistoricForeignKey`` (aliases, addresses,
packaging levels) are read as of the same time.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import SearchFilter

from mdm import access, registry
from mdm.filters import MAX_DB_INTEGER

AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    description="Return the record(s) as they were at this time (ISO 8601; a bare date means the end of "
    "that day, UTC). Records that did not exist yet are absent.",
)


def parse_as_of(raw: str | None) -> dt.datetime | None:
    if raw in (None, ""):
        return None
    try:
        value = parse_datetime(raw)
        day = parse_date(raw) if value is None else None
    except ValueError:  # well-formed but impossible, such as 2026-02-30 or 24:61
        value = day = None
    if value is None:
        if day is None:
            raise ValidationError({"as_of": [f"'{raw}' is not an ISO 8601 date or date-time."]})
        value = dt.datetime.combine(day, dt.time.max)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    try:
        # In UTC: PostgreSQL refuses offsets beyond ±15:59, which Python accepts (up to ±23:59).
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError({"as_of": [f"'{raw}' is out of the supported range."]}) from None


def load_children_as_of(page: list, paths: tuple[str, ...], as_of) -> None:
    """Load the related rows of a page of ``as_of`` instances in one query per relation, not one per row.

    Each path's first name is a relation of the golden model: a reverse ``HistoricForeignKey`` (children
    such as ``aliases``, read from history as of the same time and put in the prefetch cache the
    related manager reads first) or a forward foreign key (read live, like a normal prefetch). Further
    names are forward keys of those rows (``packaging_levels__unit``), prefetched live.
    """
    if not page:
        return
    model = type(page[0])
    for path in paths:
        name, _, rest = path.partition("__")
        field = model._meta.get_field(name)
        if not field.auto_created:  # a forward foreign key of the record itself
            prefetch_related_objects(page, path)
            continue
        child_model, fk_name = field.related_model, field.field.name
        rows = child_model.history.as_of(as_of).filter(**{f"{fk_name}_id__in": [obj.id for obj in page]})
        if child_model._meta.ordering:
            rows = rows.order_by(*child_model._meta.ordering)
        grouped: dict = {}
        for row in rows:
            grouped.setdefault(getattr(row, f"{fk_name}_id"), []).append(row)
        for obj in page:
            obj._prefetched_objects_cache = getattr(obj, "_prefetched_objects_cache", {})
            obj._prefetched_objects_cache[field.cache_name] = grouped.get(obj.id, [])
        if rest:
            prefetch_related_objects([row for rows_ in grouped.values() for row in rows_], rest)


class AsOfMixin:
    """For read-only viewsets over a golden model with ``history = HistoricalRecords()``.

    ``as_of_prefetch`` names the relations a list page needs (``("aliases", "packaging_levels__unit")``):
    live reads prefetch them in ``get_base_queryset``; ``as_of`` reads load them per page with
    :func:`load_children_as_of`. Override :meth:`load_page_as_of` for anything more special.
    """

    as_of_prefetch: tuple[str, ...] = ()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        as_of = self.get_as_of()
        if page and as_of is not None:
            self.load_page_as_of(page, as_of)
        return page

    def load_page_as_of(self, page, as_of):
        load_children_as_of(page, self.as_of_prefetch, as_of)

    def get_as_of(self):
        if not hasattr(self, "_as_of"):
            self._as_of = parse_as_of(self.request.query_params.get("as_of"))
        return self._as_of

    def get_base_queryset(self):
        """The live queryset; subclasses add ``select_related``/``prefetch_related`` here."""
        return self.queryset.all()

    def get_queryset(self):
        as_of = self.get_as_of()
        qs = self.get_base_queryset() if as_of is None else self.queryset.model.history.as_of(as_of).order_by("pk")
        return self.limit_queryset(qs)

    def limit_queryset(self, qs):
        """Cut to the user's access limits (``mdm.access``): records outside them are absent, as if they didn't exist.

        Every list, detail and ``as_of`` read of a golden model's API goes through here.
        """
        spec = registry.for_model(self.queryset.model)
        if spec is None:
            return qs
        return access.limit_queryset(self.request.user, spec.entity_type, qs)

    def get_object(self):
        as_of = self.get_as_of()
        if as_of is None:
            return super().get_object()
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        except (TypeError, ValueError, DjangoValidationError):  # not an id at all ("abc"): no such record
            obj = None
        if obj is None:
            raise NotFound(f"No record {lookup} existed at {as_of.isoformat()}.")
        self.check_object_permissions(self.request, obj)
        return obj

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["as_of"] = self.get_as_of()
        return context


def _is_historical(model) -> bool:
    return hasattr(model, "instance_type")  # simple-history's historical models point at their live model


class AsOfFilterBackend(DjangoFilterBackend):
    """django-filter for live and ``as_of`` querysets.

    With ``as_of`` the queryset is over the historical model: the view's FilterSet is re-bound to it,
    keeping the filters on the record's own columns. A filter on related rows (aliases, packaging) is
    refused with a clear 400 rather than silently ignored. So is a whole number no database column can hold
    (SQLite cannot even bind it: a 500 otherwise).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            _refuse_huge_numbers(request, filterset_class)
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            # The form's own rendering of its messages: django-filter's ``translate_validation`` formats every
            # message with ``%``, and one quoting the caller's value ("GTIN '10%&' ...") would crash it (a 500).
            raise ValidationError({name: list(messages) for name, messages in filterset.errors.items()})
        _in_utc(filterset.form.cleaned_data)
        return filterset.qs

    def get_filterset_class(self, view, queryset=None):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None or queryset is None or not _is_historical(queryset.model):
            return super().get_filterset_class(view, queryset)
        historical = queryset.model
        column_names = {f.name for f in historical._meta.get_fields()}
        usable = {
            name: flt
            for name, flt in filterset_class.base_filters.items()
            if flt.field_name.split("__")[0] in column_names and getattr(flt, "method", None) is None
        }
        unusable = set(filterset_class.base_filters) - set(usable)
        asked = unusable & set(view.request.query_params)
        if asked:
            raise ValidationError(
                {name: [f"Filter '{name}' is not available together with as_of."] for name in sorted(asked)}
            )

        class Meta:
            model = historical
            fields = []

        return type(f"Historical{filterset_class.__name__}", (django_filters.FilterSet,), {"Meta": Meta, **usable})


def _in_utc(cleaned_data: dict) -> None:
    """Date-times of any filter in UTC: PostgreSQL refuses offsets beyond ±15:59, which Python accepts (±23:59)."""
    for name, value in cleaned_data.items():
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            try:
                cleaned_data[name] = value.astimezone(dt.UTC)
            except OverflowError:
                raise ValidationError({name: [f"'{value.isoformat()}' is out of the supported range."]}) from None


def _refuse_huge_numbers(request, filterset_class) -> None:
    errors = {}
    for name, flt in filterset_class.base_filters.items():
        if not isinstance(flt, django_filters.ModelChoiceFilter | django_filters.NumberFilter):
            continue
        for raw in request.query_params.getlist(name):
            try:
                number = Decimal(raw.strip())
            except (InvalidOperation, ValueError):
                continue  # not a number: the filter's own field says so
            if number.is_finite() and abs(number) > MAX_DB_INTEGER:
                errors[name] = [f"'{raw.strip()[:24]}' is beyond any id or number the hub stores (±{MAX_DB_INTEGER})."]
    if errors:
        raise ValidationError(errors)


class AsOfSearchFilter(SearchFilter):
    """Search that, with ``as_of``, searches only the record's own columns (related rows are live data)."""

    def get_search_fields(self, view, request):
        fields = super().get_search_fields(view, request) or []
        if getattr(view, "get_as_of", lambda: None)() is not None:
            fields = [f for f in fields if "__" not in f.lstrip("^=@$")]
        return fields
