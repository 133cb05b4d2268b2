"""Nightly price checks that hand problems to stewards as tasks (``mdm.services.tasks``).

Four checks, each a task kind (``contracts.choices.PriceCheck``) with stable dedupe keys, so a re-run
refreshes the open task instead of opening a second one, and a task whose problem is gone is closed:

``price_overlap``
    Two active prices (on active contracts, not ended before the check date) for the same item, supplier,
    unit and tier (``min_quantity``) whose inclusive date ranges overlap. Within one contract PostgreSQL
    refuses them (exclusion constraint); across two contracts of one supplier they are legal but
    ambiguous, and a steward decides. Key ``price_overlap:<lower id>:<higher id>``.
``contract_expiring``
    An active contract whose end date falls within ``MDM_CONTRACT_EXPIRY_WARNING_DAYS`` (default 60)
    days of the check date, both days included; due on its end date, high priority within 14 days.
    Key ``contract_expiring:<contract id>:<end date>`` (an extension gives a new key).
``price_anomaly``
    A price per base unit far from the item's robust median: among the active prices in effect on the
    check date for one item, base unit and currency (at least ``MDM_PRICE_ANOMALY_MIN_LINES``, default 3),
    the robust z-score ``|x - median| / (1.4826 * MAD)`` (MAD: median absolute deviation; 1.4826 makes it
    comparable to a standard deviation for normal data) is above ``MDM_PRICE_ANOMALY_THRESHOLD`` (default
    3.5, Iglewicz and Hoaglin) and the price is at least ``MDM_PRICE_ANOMALY_MIN_DEVIATION`` (default
    0.10, i.e. 10 %) away from the median. When MAD is 0 (more than half the prices are equal) the
    scale is ``1.2533 * mean absolute deviation`` instead; when that is 0 too, all prices are equal and
    nothing is flagged. The figures go into the task. Key ``price_anomaly:<price id>``.
``price_unit_unconvertible``
    An active price (not ended before the check date) whose unit can't be converted to the item's base
    unit, so it has no price per base unit and can't be compared. The check first recomputes the item's
    figures (the packaging may have been fixed since). Key ``price_unit_unconvertible:<price id>:<unit>``.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from contracts.choices import PriceCheck
from contracts.models import Contract, ContractPrice
from contracts.services import contract_prices_recompute
from mdm.choices import RecordStatus
from mdm.models import StewardTask
from mdm.services.tasks import task_open, tasks_close_stale
from uom.conversions import ConversionError, item_conversion, packaging_for_item

MAD_SCALE = Decimal("1.4826")
MEAN_AD_SCALE = Decimal("1.2533")
URGENT_DAYS = 14


@dataclass
class Finding:
    """One problem a check found: becomes (or refreshes) one open steward task."""

    kind: str
    entity_type: str
    object_id: int
    title: str
    dedupe_key: str
    details: dict
    priority: int = StewardTask.Priority.NORMAL
    due_date: dt.date | None = None


@dataclass
class PriceCheckReport:
    on_date: dt.date
    found: dict[str, int] = field(default_factory=dict)
    opened: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    recomputed: int = 0

    def summary(self) -> str:
        parts = [
            f"{kind}: {self.found[kind]} found, {self.opened.get(kind, 0)} new task(s), "
            f"{self.closed.get(kind, 0)} closed"
            for kind in self.found
        ]
        return f"Price checks on {self.on_date}: " + "; ".join(parts) + "."


def _setting(name: str, default):
    return getattr(settings, name, default)


def _text(value) -> str | None:
    return None if value is None else format(value, "f")


def _active_prices(on_date: dt.date):
    """Active prices on active contracts that have not ended before ``on_date``."""
    return ContractPrice.objects.filter(status=RecordStatus.ACTIVE, contract__status=RecordStatus.ACTIVE).filter(
        end_date__gte=on_date
    )


# --- overlaps -------------------------------------------------------------------------------------------


def price_overlaps_find(*, on_date: dt.date) -> list[Finding]:
    """Pairs of active prices for one item, supplier, unit and tier whose inclusive date ranges overlap."""
    base = _active_prices(on_date)
    other = base.filter(
        item_id=OuterRef("item_id"),
        unit_id=OuterRef("unit_id"),
        min_quantity=OuterRef("min_quantity"),
        contract__supplier_id=OuterRef("contract__supplier_id"),
        start_date__lte=OuterRef("end_date"),
        end_date__gte=OuterRef("start_date"),
    ).exclude(pk=OuterRef("pk"))
    rows = list(
        base.filter(Exists(other))
        .order_by("contract__supplier_id", "item_id", "unit_id", "min_quantity", "start_date", "id")
        .values(
            "id",
            "item_id",
            "item__description",
            "unit__code",
            "min_quantity",
            "price",
            "start_date",
            "end_date",
            "contract_id",
            "contract__number",
            "contract__currency",
            "contract__supplier_id",
            "contract__supplier__legal_name",
        )
    )
    findings = []
    key = lambda r: (r["contract__supplier_id"], r["item_id"], r["unit__code"], r["min_quantity"])  # noqa: E731
    for _, group in groupby(rows, key=key):
        lines = list(group)
        for position, first in enumerate(lines):
            for second in lines[position + 1 :]:
                if second["start_date"] > first["end_date"]:
                    continue
                findings.append(_overlap_finding(first, second))
    return findings


def _line(row: dict) -> dict:
    return {
        "price_id": row["id"],
        "contract_id": row["contract_id"],
        "contract_number": row["contract__number"],
        "price": _text(row["price"]),
        "currency": row["contract__currency"],
        "start_date": row["start_date"].isoformat(),
        "end_date": row["end_date"].isoformat(),
    }


def _overlap_finding(first: dict, second: dict) -> Finding:
    low, high = sorted((first, second), key=lambda r: r["id"])
    overlap_start = max(first["start_date"], second["start_date"])
    overlap_end = min(first["end_date"], second["end_date"])
    unit, tier = first["unit__code"], first["min_quantity"]
    return Finding(
        kind=PriceCheck.OVERLAP,
        entity_type="contract_price",
        object_id=high["id"],
        title=(
            f"Prices {low['id']} and {high['id']} overlap from {overlap_start} to {overlap_end}: "
            f"item {first['item_id']} per {unit} from {tier}, {first['contract__supplier__legal_name']}"
        )[:255],
        dedupe_key=f"{PriceCheck.OVERLAP}:{low['id']}:{high['id']}",
        details={
            "item_id": first["item_id"],
            "item_description": first["item__description"][:200],
            "supplier_id": first["contract__supplier_id"],
            "supplier_name": first["contract__supplier__legal_name"],
            "unit": unit,
            "min_quantity": tier,
            "overlap_start": overlap_start.isoformat(),
            "overlap_end": overlap_end.isoformat(),
            "prices": [_line(low), _line(high)],
            "action": "End or retire one of the prices so that one price applies to this tier on any day.",
        },
        priority=StewardTask.Priority.HIGH,
    )


# --- expiring contracts ---------------------------------------------------------------------------------


def contracts_expiring_find(*, on_date: dt.date, days: int) -> list[Finding]:
    """Active contracts ending between ``on_date`` and ``on_date + days`` (both included)."""
    horizon = on_date + dt.timedelta(days=days)
    contracts = (
        Contract.objects.filter(status=RecordStatus.ACTIVE, end_date__gte=on_date, end_date__lte=horizon)
        .select_related("supplier")
        .annotate(active_prices=Count("prices", filter=Q(prices__status=RecordStatus.ACTIVE)))
        .order_by("end_date", "id")
    )
    findings = []
    for contract in contracts:
        left = (contract.end_date - on_date).days
        findings.append(
            Finding(
                kind=PriceCheck.EXPIRING,
                entity_type="contract",
                object_id=contract.pk,
                title=(
                    f"Contract {contract.number} ({contract.supplier.legal_name}) ends on {contract.end_date}, "
                    f"in {left} day(s)"
                )[:255],
                dedupe_key=f"{PriceCheck.EXPIRING}:{contract.pk}:{contract.end_date.isoformat()}",
                details={
                    "contract_number": contract.number,
                    "supplier_id": contract.supplier_id,
                    "supplier_name": contract.supplier.legal_name,
                    "kind": contract.kind,
                    "gpo_name": contract.gpo_name,
                    "end_date": contract.end_date.isoformat(),
                    "days_left": left,
                    "warning_days": days,
                    "active_prices": contract.active_prices,
                    "action": "Renew or extend the contract, or plan the switch to another agreement.",
                },
                priority=StewardTask.Priority.HIGH if left <= URGENT_DAYS else StewardTask.Priority.NORMAL,
                due_date=contract.end_date,
            )
        )
    return findings


# --- anomalies ------------------------------------------------------------------------------------------


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class RobustScale:
    """The spread the robust z-score divides by, and how it was obtained."""

    median: Decimal
    mad: Decimal
    scale: Decimal
    method: str


def robust_scale(values: list[Decimal]) -> RobustScale:
    """Median, MAD and the scale ``1.4826 * MAD`` (``1.2533 * mean absolute deviation`` when MAD is 0)."""
    median = _median(values)
    deviations = [abs(v - median) for v in values]
    mad = _median(deviations)
    if mad > 0:
        return RobustScale(median, mad, MAD_SCALE * mad, "1.4826 x MAD")
    mean_ad = sum(deviations, Decimal(0)) / len(deviations)
    return RobustScale(median, mad, MEAN_AD_SCALE * mean_ad, "1.2533 x mean absolute deviation (MAD is 0)")


def robust_z(value: Decimal, scale: RobustScale) -> Decimal | None:
    """``|value - median| / scale``; None when the scale is 0 (all values equal: nothing is an outlier)."""
    if scale.scale == 0:
        return None
    return abs(value - scale.median) / scale.scale


def _in_effect_prices(on_date: dt.date) -> Iterator[dict]:
    return (
        _active_prices(on_date)
        .filter(start_date__lte=on_date, contract__start_date__lte=on_date, contract__end_date__gte=on_date)
        .exclude(price_per_base_unit=None)
        .order_by("item_id", "base_unit_id", "contract__currency", "id")
        .values(
            "id",
            "item_id",
            "price",
            "unit__code",
            "min_quantity",
            "price_per_base_unit",
            "base_unit_id",
            "base_unit__code",
            "contract_id",
            "contract__number",
            "contract__currency",
            "contract__supplier__legal_name",
        )
        .iterator(chunk_size=5000)
    )


def price_anomalies_find(
    *, on_date: dt.date, threshold: Decimal, min_lines: int, min_deviation: Decimal
) -> list[Finding]:
    """Prices per base unit far from their item's robust median (see the module docstring for the rule)."""
    findings = []
    group_key = lambda r: (r["item_id"], r["base_unit_id"], r["contract__currency"])  # noqa: E731
    for _, group in groupby(_in_effect_prices(on_date), key=group_key):
        lines = list(group)
        if len(lines) < min_lines:
            continue
        scale = robust_scale([line["price_per_base_unit"] for line in lines])
        for line in lines:
            value = line["price_per_base_unit"]
            z = robust_z(value, scale)
            if z is None or z <= threshold:
                continue
            deviation = abs(value - scale.median) / scale.median if scale.median else None
            if deviation is not None and deviation < min_deviation:
                continue
            findings.append(_anomaly_finding(line, lines, scale, z, deviation, threshold))
    return findings


def _anomaly_finding(line, lines, scale: RobustScale, z: Decimal, deviation, threshold) -> Finding:
    value, base, currency = line["price_per_base_unit"], line["base_unit__code"], line["contract__currency"]
    direction = "above" if value > scale.median else "below"
    percent = None if deviation is None else (deviation * 100).quantize(Decimal("0.1"))
    return Finding(
        kind=PriceCheck.ANOMALY,
        entity_type="contract_price",
        object_id=line["id"],
        title=(
            f"Price {line['id']} is {value.normalize():f} {currency} per {base}, "
            f"{f'{percent}% ' if percent is not None else ''}{direction} the item's median "
            f"{scale.median.normalize():f} (robust z {z.quantize(Decimal('0.01'))})"
        )[:255],
        dedupe_key=f"{PriceCheck.ANOMALY}:{line['id']}",
        details={
            "item_id": line["item_id"],
            "contract_id": line["contract_id"],
            "contract_number": line["contract__number"],
            "supplier_name": line["contract__supplier__legal_name"],
            "price": _text(line["price"]),
            "unit": line["unit__code"],
            "min_quantity": line["min_quantity"],
            "currency": currency,
            "base_unit": base,
            "price_per_base_unit": _text(value),
            "median": _text(scale.median),
            "mad": _text(scale.mad),
            "scale": _text(scale.scale),
            "scale_method": scale.method,
            "robust_z": _text(z.quantize(Decimal("0.0001"))),
            "threshold": _text(threshold),
            "deviation_percent": _text(percent),
            "direction": direction,
            "lines_compared": len(lines),
            "compared_price_ids": [other["id"] for other in lines],
            "action": "Check the price and its unit against the contract; correct or retire the line if wrong.",
        },
    )


# --- unconvertible units --------------------------------------------------------------------------------


def price_units_find(*, on_date: dt.date) -> tuple[list[Finding], int]:
    """Active prices whose unit can't be converted to their item's base unit; also returns lines recomputed."""
    missing = (
        _active_prices(on_date)
        .filter(price_per_base_unit=None)
        .order_by("item_id", "id")
        .values_list("item_id", flat=True)
        .distinct()
    )
    findings, recomputed = [], 0
    for item_id in list(missing):
        recomputed += contract_prices_recompute(item_id, reason="price checks: per-base-unit price recomputed")
        try:
            packaging = packaging_for_item(item_id)
        except ConversionError as exc:
            packaging, problem = None, str(exc)
        lines = (
            _active_prices(on_date)
            .filter(item_id=item_id, price_per_base_unit=None)
            .select_related("unit", "item__base_unit", "contract")
            .order_by("id")
        )
        for line in lines:
            if packaging is not None:
                try:
                    item_conversion(packaging, 1, line.unit.code, packaging.base_unit)
                    continue  # convertible: recomputed above (a price saved meanwhile is for the next run)
                except ConversionError as exc:
                    problem = str(exc)
            findings.append(_unconvertible_finding(line, packaging, problem))
    return findings, recomputed


def _unconvertible_finding(line: ContractPrice, packaging, problem: str) -> Finding:
    levels = [f"{lv.unit} x{lv.quantity}" for lv in packaging.levels] if packaging is not None else []
    return Finding(
        kind=PriceCheck.UNCONVERTIBLE,
        entity_type="contract_price",
        object_id=line.pk,
        title=(
            f"Price {line.pk} is per {line.unit.code}, which can't be converted to item {line.item_id}'s "
            f"base unit {line.item.base_unit.code}"
        )[:255],
        dedupe_key=f"{PriceCheck.UNCONVERTIBLE}:{line.pk}:{line.unit.code}",
        details={
            "item_id": line.item_id,
            "contract_id": line.contract_id,
            "contract_number": line.contract.number,
            "unit": line.unit.code,
            "base_unit": line.item.base_unit.code,
            "packaging": levels,
            "content": (
                f"{packaging.content_quantity} {packaging.content_unit}"
                if packaging is not None and packaging.content_unit
                else None
            ),
            "problem": problem,
            "action": "Add the unit to the item's packaging (or its content per base unit), or correct the price's unit.",
        },
    )


# --- running them ---------------------------------------------------------------------------------------


def _apply(kind: str, findings: Iterable[Finding], report: PriceCheckReport, actor) -> None:
    keep: set[str] = set()
    opened = 0
    for finding in findings:
        keep.add(finding.dedupe_key)
        _, created = task_open(
            kind=finding.kind,
            entity_type=finding.entity_type,
            object_id=finding.object_id,
            title=finding.title,
            dedupe_key=finding.dedupe_key,
            details=finding.details,
            priority=finding.priority,
            due_date=finding.due_date,
        )
        opened += created
    report.found[kind] = len(keep)
    report.opened[kind] = opened
    report.closed[kind] = tasks_close_stale(
        kind=kind, keep_keys=keep, actor=actor, note="The nightly price check no longer finds this."
    )


def prices_check(
    *, on_date: dt.date | None = None, checks: Iterable[str] | None = None, actor=None
) -> PriceCheckReport:
    """Run the price checks (all, or the ``checks`` named by kind) and open/refresh/close their steward tasks.

    Each check's tasks are opened and closed in its own transactions (``task_open`` is atomic), so a
    long run never holds one big transaction. Returns the counts per kind.
    """
    on_date = on_date or timezone.localdate()
    wanted = set(checks or PriceCheck.values)
    unknown = wanted - set(PriceCheck.values)
    if unknown:
        raise ValueError(f"unknown price check(s) {sorted(unknown)}; expected some of {PriceCheck.values}")
    report = PriceCheckReport(on_date=on_date)
    if PriceCheck.OVERLAP in wanted:
        _apply(PriceCheck.OVERLAP, price_overlaps_find(on_date=on_date), report, actor)
    if PriceCheck.EXPIRING in wanted:
        days = int(_setting("MDM_CONTRACT_EXPIRY_WARNING_DAYS", 60))
        _apply(PriceCheck.EXPIRING, contracts_expiring_find(on_date=on_date, days=days), report, actor)
    if PriceCheck.ANOMALY in wanted:
        findings = price_anomalies_find(
            on_date=on_date,
            threshold=Decimal(str(_setting("MDM_PRICE_ANOMALY_THRESHOLD", "3.5"))),
            min_lines=int(_setting("MDM_PRICE_ANOMALY_MIN_LINES", 3)),
            min_deviation=Decimal(str(_setting("MDM_PRICE_ANOMALY_MIN_DEVIATION", "0.10"))),
        )
        _apply(PriceCheck.ANOMALY, findings, report, actor)
    if PriceCheck.UNCONVERTIBLE in wanted:
        findings, report.recomputed = price_units_find(on_date=on_date)
        _apply(PriceCheck.UNCONVERTIBLE, findings, report, actor)
    return report
