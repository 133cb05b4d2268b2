"""Golden records for syndication tests (import the fixtures into a test module)."""

import datetime

import pytest

from contracts.services import contract_create, contract_price_create
from items.services import item_create
from suppliers.services import supplier_create
from uom.services import unit_create

IBAN = "DE89370400440532013000"


@pytest.fixture
def units(steward):
    made = {
        code: unit_create(code=code, name=name, dimension=dimension, actor=steward, reason="test")
        for code, name, dimension in (
            ("EA", "Each", "count"),
            ("BX", "Box", "count"),
            ("CS", "Case", "count"),
            ("G", "Gram", "mass"),
            ("ML", "Millilitre", "volume"),
        )
    }
    return made


@pytest.fixture
def make_item(steward, units):
    def make(description, *, part="313-71-015", gtins=("", "", ""), unspsc="42271706", **extra):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": unspsc,
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": gtins[0]},
                    {"unit": "BX", "quantity": 10, "gtin": gtins[1]},
                    {"unit": "CS", "quantity": 100, "gtin": gtins[2]},
                ],
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def make_supplier(steward):
    def make(name="Medline Industries, LP", **extra):
        data = {"legal_name": name, **extra}
        return supplier_create(data=data, actor=steward, reason="test")

    return make


@pytest.fixture
def supplier(make_supplier):
    return make_supplier(
        ein="36-1234567",
        duns="025483210",
        addresses=[{"kind": "remit_to", "line1": "3 Lakes Dr", "city": "Northfield", "region": "IL", "country": "US"}],
        bank_accounts=[{"holder_name": "Medline Industries", "bank_name": "Commerzbank", "iban": IBAN}],
    )


@pytest.fixture
def contract(steward, supplier):
    return contract_create(
        number="VZ-2026-001",
        supplier=supplier,
        kind="gpo",
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        currency="USD",
        actor=steward,
        reason="test",
    )


@pytest.fixture
def make_price(steward, contract, units):
    def make(item, amount="10.00", unit="BX", min_quantity=1):
        return contract_price_create(
            contract=contract,
            item=item,
            unit=units[unit],
            price=amount,
            min_quantity=min_quantity,
            start_date=datetime.date(2026, 1, 1),
            end_date=datetime.date(2026, 12, 31),
            actor=steward,
            reason="test",
        )

    return make


ODOO_TYPES = ("unit", "supplier", "item", "contract_price")


def odoo_target(srv, *, name=None, entity_types=ODOO_TYPES, filters=None, **extra):
    """A Target pointing at the Odoo test server, subscribed to ``entity_types``."""
    from sync.models import Subscription, Target

    target = Target.objects.create(
        name=name or f"Odoo {srv.version}",
        kind=Target.Kind.ODOO,
        url=srv.url,
        database=srv.db,
        login=srv.login,
        secret=srv.api_key,
        **extra,
    )
    for entity_type in entity_types:
        Subscription.objects.create(
            target=target, entity_type=entity_type, filters=(filters or {}).get(entity_type, {})
        )
    return target


def drain(target, *, rounds=50):
    """Dispatch and deliver until nothing is due (as the worker would, in this process)."""
    import datetime
    import time

    from django.utils import timezone

    from sync import engine
    from sync.models import Delivery

    totals = {}
    for _ in range(rounds):
        engine.dispatch()
        figures = engine.deliver_target(target, budget_seconds=60)
        for key, value in figures.items():
            totals[key] = totals.get(key, 0) + value
        if engine.due(target).exists():
            continue
        # deliveries held a moment for a record they depend on (not retries waiting out their backoff)
        soon = timezone.now() + datetime.timedelta(seconds=1.5)
        if not Delivery.objects.filter(target=target, status="pending", next_attempt_at__lte=soon).exists():
            break
        time.sleep(0.3)
    return totals
