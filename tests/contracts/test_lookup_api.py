"""GET /api/v1/prices/lookup/ and /api/v1/prices/compare/: bodies, clear 400s, 404 with the reason, schema."""

import pytest
from rest_framework.test import APIClient

from contracts.api.serializers import (
    ComparisonRowSerializer,
    PriceCandidateSerializer,
    PriceComparisonSerializer,
    PriceLookupNotFoundSerializer,
    PriceLookupResultSerializer,
    SpreadSerializer,
)

LOOKUP, COMPARE = "/api/v1/prices/lookup/", "/api/v1/prices/compare/"


def fields(serializer_class) -> set[str]:
    return set(serializer_class().fields)


@pytest.mark.django_db
class TestLookupEndpoint:
    def test_applicable_price_with_reason_and_candidates(self, api, market):
        response = api.get(LOOKUP, {"item": market["item"].pk, "qty": "250", "unit": "EA", "date": "2025-02-01"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == fields(PriceLookupResultSerializer)
        assert {k: body[k] for k in ("quantity", "unit", "base_unit", "quantity_in_base_units", "currency")} == {
            "quantity": "250",
            "unit": "EA",
            "base_unit": "EA",
            "quantity_in_base_units": "250",
            "currency": "USD",
        }
        price = body["price"]
        assert set(price) == fields(PriceCandidateSerializer)
        assert price == body["candidates"][0]
        assert {k: price[k] for k in ("id", "outcome", "unit", "price", "price_per_base_unit", "quantity_in_unit")} == {
            "id": market["gpo_box"].pk,
            "outcome": "chosen",
            "unit": "BX",
            "price": "10.0000",
            "price_per_base_unit": "0.1000000000",
            "quantity_in_unit": "2.5",
        }
        assert (price["extended_amount"], price["contract_kind"], price["supplier_name"]) == (
            "25.00000",
            "gpo",
            "Medline Industries, LP",
        )
        assert (price["start_date"], price["end_date"]) == ("2025-01-01", "2025-12-31")
        assert "both days included" in body["reason"]
        assert [c["outcome"] for c in body["candidates"]].count("tier_not_reached") == 2

    def test_defaults_are_one_base_unit_today(self, api, market):
        body = api.get(LOOKUP, {"item": market["item"].pk, "supplier": market["cardinal"].pk}).json()
        assert (body["quantity"], body["unit"], body["supplier"]) == ("1", "EA", market["cardinal"].pk)
        assert body["date"]  # today: the 2025 prices have ended, so this is a 404 body or a 200 one

    def test_no_applicable_price_is_404_with_the_reason(self, api, market):
        response = api.get(
            LOOKUP,
            {"item": market["item"].pk, "qty": "1", "unit": "CS", "date": "2025-04-01", "supplier": market["owens"].pk},
        )
        assert response.status_code == 404
        body = response.json()
        assert set(body) == fields(PriceLookupNotFoundSerializer)
        assert body["code"] == "no_applicable_price" and body["price"] is None
        assert body["detail"] == body["reason"]
        assert "1 tier not reached by the quantity" in body["detail"]
        assert body["candidates"][0]["why"] == "This tier starts at 2 CS; the order is 1 CS."

    def test_nothing_in_effect_is_404(self, api, market):
        response = api.get(LOOKUP, {"item": market["item"].pk, "date": "2030-01-01"})
        assert response.status_code == 404
        assert response.json()["detail"] == (
            f"Item {market['item'].pk} has no price in effect on 2030-01-01 (dates are inclusive)."
        )

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({}, "item", "This field is required."),
            ({"item": "gloves"}, "item", "A valid integer is required."),
            ({"item": 999_999}, "item", "There is no item 999999."),
            ({"unit": "XX"}, "unit", "XX"),
            ({"qty": "0"}, "qty", "The quantity must be above zero, not 0."),
            ({"qty": "-5"}, "qty", "The quantity must be above zero, not -5."),
            ({"qty": "a dozen"}, "qty", "'a dozen' is not a number: give a decimal such as 12 or 2.5."),
            ({"qty": "NaN"}, "qty", "The quantity must be above zero, not NaN."),
            ({"date": "2025-13-01"}, "date", "'2025-13-01' is not a date: use YYYY-MM-DD."),
            ({"date": "01/04/2025"}, "date", "'01/04/2025' is not a date: use YYYY-MM-DD."),
            ({"supplier": 999_999}, "supplier", "No supplier 999999."),
        ],
    )
    def test_bad_input_is_a_clear_400(self, api, market, params, field, message):
        query = {"item": market["item"].pk, "date": "2025-04-01", **params}
        if not params:
            query.pop("item")
        response = api.get(LOOKUP, query)
        assert response.status_code == 400, response.content
        body = response.json()
        assert set(body) == {"detail", "code", "errors"}
        assert list(body["errors"]) == [field]
        assert message in body["errors"][field][0]

    def test_unknown_unit_names_the_code(self, api, market):
        body = api.get(LOOKUP, {"item": market["item"].pk, "unit": "XX"}).json()
        assert body["code"] == "unknown_unit"
        assert body["detail"] == body["errors"]["unit"][0]

    def test_bounded_queries(self, api, market, django_assert_max_num_queries):
        params = {"item": market["item"].pk, "qty": "3", "unit": "CS", "date": "2025-04-01"}
        api.get(LOOKUP, params)  # warm the permission cache and the unit registry
        with django_assert_max_num_queries(1):  # the item's packaging fingerprint and its prices, in one query
            assert api.get(LOOKUP, params).status_code == 200

    def test_permissions(self, viewer, outsider, anon_api, market):
        params = {"item": market["item"].pk, "date": "2025-04-01"}
        for user, expected in ((viewer, 200), (outsider, 403)):
            client = APIClient()
            client.force_authenticate(user)
            assert client.get(LOOKUP, params).status_code == expected
            assert client.get(COMPARE, params).status_code == expected
        assert anon_api.get(LOOKUP, params).status_code in (401, 403)


@pytest.mark.django_db
class TestCompareEndpoint:
    def test_suppliers_per_base_unit_lowest_first(self, api, market):
        response = api.get(COMPARE, {"item": market["item"].pk, "date": "2025-04-01"})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == fields(PriceComparisonSerializer)
        assert set(body["spread"]) == fields(SpreadSerializer)
        assert all(set(row) == fields(ComparisonRowSerializer) for row in body["rows"])
        assert [(r["supplier_name"], r["price_per_base_unit"], r["difference_percent"]) for r in body["rows"]] == [
            ("Cardinal Health", "0.0800000000", "0.00"),
            ("Medline Industries, LP", "0.0900000000", "12.50"),
            ("Owens & Minor", "0.0980000000", "22.50"),
        ]
        assert body["spread"] == {
            "lowest": "0.0800000000",
            "highest": "0.0980000000",
            "absolute": "0.0180000000",
            "percent": "22.50",
            "suppliers": 3,
        }
        assert (body["quantity"], body["unit"], body["base_unit"], body["currency"]) == (None, None, "EA", "USD")

    def test_for_a_quantity(self, api, market):
        body = api.get(COMPARE, {"item": market["item"].pk, "date": "2025-04-01", "qty": "2", "unit": "CS"}).json()
        assert [row["supplier_name"] for row in body["rows"]] == [
            "Cardinal Health",
            "Medline Industries, LP",
            "Owens & Minor",
        ]
        medline = body["rows"][1]["price"]
        assert (medline["unit"], medline["min_quantity"], medline["quantity_in_unit"]) == ("CS", 1, "2")
        assert body["without_price"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"item": 999_999}, "item"), ({"qty": "-1"}, "qty"), ({"unit": "XX"}, "unit"), ({"date": "tomorrow"}, "date")],
    )
    def test_bad_input(self, api, market, params, field):
        response = api.get(COMPARE, {"item": market["item"].pk, **params})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [field]


@pytest.mark.django_db
def test_documented_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    lookup = schema["paths"]["/api/v1/prices/lookup/"]["get"]
    assert {p["name"] for p in lookup["parameters"]} == {"item", "supplier", "qty", "unit", "date", "currency"}
    assert set(lookup["responses"]) >= {"200", "400", "404"}
    assert "both inclusive" in lookup["description"] and "local agreement over a GPO" in lookup["description"]
    compare = schema["paths"]["/api/v1/prices/compare/"]["get"]
    assert {p["name"] for p in compare["parameters"]} == {"item", "qty", "unit", "date", "currency"}
    outcome = schema["components"]["schemas"]["PriceCandidate"]["properties"]["outcome"]
    assert "$ref" in outcome or "enum" in outcome
