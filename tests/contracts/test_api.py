"""Contracts and prices API: list, detail, filters, search, as_of, bounded queries, permissions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mdm.services.golden import golden_save, golden_set_status

D = dt.date
CONTRACTS, PRICES = "/api/v1/contracts/", "/api/v1/prices/"


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


@pytest.fixture
def two_contracts(contract, make_contract, make_supplier):
    """A Vizient GPO contract in USD for 2025-2027 and a local EUR one of another supplier for 2024."""
    vizient = contract
    local = make_contract(
        "L-77",
        supplier=make_supplier("B. Braun Melsungen AG"),
        kind="local",
        gpo_name="",
        start_date=D(2024, 1, 1),
        end_date=D(2024, 12, 31),
        currency="EUR",
    )
    return vizient, local


@pytest.mark.django_db
class TestContracts:
    def test_detail_shows_the_supplier(self, api, contract, supplier):
        data = api.get(f"{CONTRACTS}{contract.pk}/").json()
        assert {k: data[k] for k in ("number", "supplier", "supplier_name", "kind", "gpo_name", "currency")} == {
            "number": "VZ-2025-001",
            "supplier": supplier.pk,
            "supplier_name": "Medline Industries, LP",
            "kind": "gpo",
            "gpo_name": "Vizient",
            "currency": "USD",
        }
        assert (data["start_date"], data["end_date"], data["status"], data["version"]) == (
            "2025-01-01",
            "2027-12-31",
            "active",
            1,
        )
        assert data["term"] in {"pending", "in_effect", "expired"}

    def test_filters(self, api, two_contracts, make_supplier):
        vizient, local = two_contracts
        assert ids(api.get(CONTRACTS)) == sorted([vizient.pk, local.pk])
        assert ids(api.get(CONTRACTS, {"supplier": local.supplier_id})) == [local.pk]
        assert ids(api.get(CONTRACTS, {"kind": "gpo"})) == [vizient.pk]
        assert ids(api.get(CONTRACTS, {"gpo_name": "vizi"})) == [vizient.pk]
        assert ids(api.get(CONTRACTS, {"currency": "eur"})) == [local.pk]
        # Both ends are inclusive.
        assert ids(api.get(CONTRACTS, {"active_on": "2024-12-31"})) == [local.pk]
        assert ids(api.get(CONTRACTS, {"active_on": "2025-01-01"})) == [vizient.pk]
        assert ids(api.get(CONTRACTS, {"active_on": "2030-01-01"})) == []
        assert ids(api.get(CONTRACTS, {"expires_before": "2025-01-01"})) == [local.pk]
        assert ids(api.get(CONTRACTS, {"expires_before": "2024-12-31"})) == []
        assert ids(api.get(CONTRACTS, {"supplier": make_supplier("Nobody").pk})) == []

    def test_status_filter(self, api, two_contracts, steward):
        vizient, local = two_contracts
        golden_set_status(local, status="retired", actor=steward, reason="ended")
        assert ids(api.get(CONTRACTS, {"status": "active"})) == [vizient.pk]

    def test_bad_filter_values_are_400_naming_the_filter(self, api, contract):
        response = api.get(CONTRACTS, {"active_on": "next tuesday", "supplier": "medline"})
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"active_on", "supplier"}

    def test_search(self, api, two_contracts):
        vizient, local = two_contracts
        assert ids(api.get(CONTRACTS, {"search": "VZ-2025"})) == [vizient.pk]
        assert ids(api.get(CONTRACTS, {"search": "vizient"})) == [vizient.pk]
        assert ids(api.get(CONTRACTS, {"search": "braun"})) == [local.pk]

    def test_as_of_before_an_extension(self, api, contract, steward):
        before = timezone.now()
        contract.end_date = D(2028, 12, 31)
        golden_save(contract, actor=steward, reason="extended", expected_version=1)
        assert api.get(f"{CONTRACTS}{contract.pk}/").json()["end_date"] == "2028-12-31"
        then = api.get(f"{CONTRACTS}{contract.pk}/", {"as_of": before.isoformat()}).json()
        assert (then["end_date"], then["version"], then["supplier_name"]) == (
            "2027-12-31",
            1,
            "Medline Industries, LP",
        )
        listed = api.get(CONTRACTS, {"as_of": before.isoformat(), "active_on": "2028-06-01"})
        assert ids(listed) == []
        assert ids(api.get(CONTRACTS, {"active_on": "2028-06-01"})) == [contract.pk]


@pytest.fixture
def priced(make_contract, make_price, make_item, two_contracts, units):
    """On the Vizient contract: a glove per BX at 12.50 (tiers from 1 and 100) and a gown per CS in 2026."""
    vizient, local = two_contracts
    glove, gown = make_item("Glove, exam, nitrile, medium"), make_item("Gown, isolation, level 2")
    return {
        "contract": vizient,
        "local": local,
        "glove": glove,
        "gown": gown,
        "glove_1": make_price("12.5", contract=vizient, item=glove),
        "glove_100": make_price("11.25", contract=vizient, item=glove, min_quantity=100),
        "gown_cs": make_price(
            "48.0000", contract=vizient, item=gown, unit="CS", start_date=D(2026, 1, 1), end_date=D(2026, 12, 31)
        ),
        "local_glove": make_price(
            "0.1", contract=local, item=glove, unit="EA", start_date=D(2024, 1, 1), end_date=D(2024, 12, 31)
        ),
    }


@pytest.mark.django_db
class TestPrices:
    def test_detail(self, api, priced, supplier):
        price = priced["glove_100"]
        data = api.get(f"{PRICES}{price.pk}/").json()
        assert data == {
            **data,
            "contract": priced["contract"].pk,
            "contract_number": "VZ-2025-001",
            "supplier": supplier.pk,
            "supplier_name": "Medline Industries, LP",
            "item": priced["glove"].pk,
            "item_description": "Glove, exam, nitrile, medium",
            "unit": "BX",
            "price": "11.2500",
            "currency": "USD",
            "min_quantity": 100,
            "start_date": "2025-01-01",
            "end_date": "2025-12-31",
        }

    def test_filters(self, api, priced):
        p = priced
        assert ids(api.get(PRICES, {"contract": p["local"].pk})) == [p["local_glove"].pk]
        assert ids(api.get(PRICES, {"item": p["gown"].pk})) == [p["gown_cs"].pk]
        assert ids(api.get(PRICES, {"supplier": p["local"].supplier_id})) == [p["local_glove"].pk]
        assert ids(api.get(PRICES, {"unit": "cs"})) == [p["gown_cs"].pk]
        assert ids(api.get(PRICES, {"active_on": "2025-12-31"})) == sorted([p["glove_1"].pk, p["glove_100"].pk])
        assert ids(api.get(PRICES, {"active_on": "2026-01-01"})) == [p["gown_cs"].pk]
        assert ids(api.get(PRICES, {"min_price": "11.25", "max_price": "12.5"})) == sorted(
            [p["glove_1"].pk, p["glove_100"].pk]
        )
        assert ids(api.get(PRICES, {"max_price": "1"})) == [p["local_glove"].pk]
        assert ids(api.get(PRICES, {"item": p["glove"].pk, "quantity": 50, "active_on": "2025-06-01"})) == [
            p["glove_1"].pk
        ]

    def test_search(self, api, priced):
        assert ids(api.get(PRICES, {"search": "gown"})) == [priced["gown_cs"].pk]
        assert ids(api.get(PRICES, {"search": "L-77"})) == [priced["local_glove"].pk]

    def test_as_of_before_a_price_change_returns_the_earlier_price(self, api, priced, steward):
        price = priced["glove_1"]
        before = timezone.now()
        price.price = Decimal("11.9900")
        golden_save(price, actor=steward, reason="GPO price update", expected_version=1)

        assert api.get(f"{PRICES}{price.pk}/").json()["price"] == "11.9900"
        then = api.get(f"{PRICES}{price.pk}/", {"as_of": before.isoformat()}).json()
        assert (then["price"], then["version"], then["contract_number"]) == ("12.5000", 1, "VZ-2025-001")
        query = {"as_of": before.isoformat(), "contract": priced["contract"].pk, "item": priced["glove"].pk}
        listed = api.get(PRICES, {**query, "min_quantity": 1})
        assert [row["price"] for row in listed.json()["results"]] == ["12.5000"]
        history = price.history.order_by("history_id")
        assert [(h.price, h.history_change_reason) for h in history] == [
            (Decimal("12.5000"), "test"),
            (Decimal("11.9900"), "GPO price update"),
        ]

    def test_as_of_shows_the_contract_as_it_was(self, api, priced, steward):
        contract, price = priced["contract"], priced["glove_1"]
        before = timezone.now()
        contract.number = "VZ-2025-001-A1"
        golden_save(contract, actor=steward, reason="amendment 1")
        assert api.get(f"{PRICES}{price.pk}/").json()["contract_number"] == "VZ-2025-001-A1"
        then = api.get(f"{PRICES}{price.pk}/", {"as_of": before.isoformat()}).json()
        assert then["contract_number"] == "VZ-2025-001"
        listed = api.get(PRICES, {"as_of": before.isoformat(), "contract": contract.pk}).json()["results"]
        assert {row["contract_number"] for row in listed} == {"VZ-2025-001"}

    def test_as_of_before_the_price_existed_is_404(self, api, contract, make_price):
        before = timezone.now()
        price = make_price("1.00")
        assert api.get(f"{PRICES}{price.pk}/", {"as_of": before.isoformat()}).status_code == 404


@pytest.mark.django_db
class TestQueryCounts:
    ROWS = 30

    @pytest.fixture
    def many(self, make_supplier, make_contract, make_item, make_price):
        contracts = [make_contract(f"C-{n:03d}", supplier=make_supplier(f"Supplier {n}")) for n in range(self.ROWS)]
        for n, contract in enumerate(contracts):
            make_price(f"{n}.5", contract=contract, item=make_item())
        return contracts

    @pytest.mark.parametrize("url", [CONTRACTS, PRICES])
    def test_list_queries_do_not_grow_with_rows(self, api, many, url, django_assert_max_num_queries):
        api.get(url)  # warm the permission cache of the user
        with django_assert_max_num_queries(3):
            response = api.get(url, {"page_size": 100})
        assert len(response.json()["results"]) == self.ROWS

    @pytest.mark.parametrize("url", [CONTRACTS, PRICES])
    def test_as_of_list_queries_do_not_grow_with_rows(self, api, many, url):
        api.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url, {"page_size": 100, "as_of": timezone.now().isoformat()})
        assert len(response.json()["results"]) == self.ROWS
        assert len(queries) <= 6, "\n".join(q["sql"][:300] for q in queries)


@pytest.mark.django_db
class TestPermissions:
    def test_viewer_reads_outsider_does_not(self, viewer, outsider, priced):
        for user, expected in ((viewer, 200), (outsider, 403)):
            client = APIClient()
            client.force_authenticate(user)
            assert client.get(CONTRACTS).status_code == expected
            assert client.get(PRICES).status_code == expected

    def test_read_only(self, api, contract):
        assert api.post(CONTRACTS, {"number": "X"}, format="json").status_code == 405
