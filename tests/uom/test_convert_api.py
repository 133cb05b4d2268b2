"""GET /api/v1/uom/convert/: exact results as strings, the path of factors, clear 400s naming the field."""

from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from items.services import item_create
from mdm.services.golden import golden_save
from uom.services import unit_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/uom/convert/"


@pytest.fixture
def units(steward):
    for code, name, dimension in (
        ("EA", "Each", "count"),
        ("BX", "Box", "count"),
        ("CS", "Case", "count"),
        ("VI", "Vial", "count"),
        ("CT", "Carton", "count"),
        ("ML", "Millilitre", "volume"),
        ("MG", "Milligram", "mass"),
    ):
        unit_create(code=code, name=name, dimension=dimension, actor=steward, reason="t")


@pytest.fixture
def gloves(steward, units):
    return item_create(
        data={
            "description": "Nitrile exam gloves, medium",
            "item_type": "med_surg",
            "base_unit": "EA",
            "packaging": [
                {"unit": "EA", "quantity": 1},
                {"unit": "BX", "quantity": 100},
                {"unit": "CS", "quantity": 10},
            ],
        },
        actor=steward,
        reason="t",
    )


@pytest.fixture
def vials(steward, units):
    item = item_create(
        data={
            "description": "Lidocaine 1% 30 mL multi-dose vial",
            "item_type": "drug",
            "base_unit": "VI",
            "content_quantity": Decimal("30"),
            "content_unit": "mL",
            "packaging": [{"unit": "VI", "quantity": 1}, {"unit": "CT", "quantity": 25}],
        },
        actor=steward,
        reason="t",
    )
    assert (item.content_quantity, item.content_unit.code) == (Decimal(30), "ML")
    return item


def test_plain_unit_conversion(api):
    response = api.get(URL, {"qty": "1500", "from": "mg", "to": "g"})
    assert response.status_code == 200
    body = response.json()
    assert body["quantity"] == "1.5"
    assert body["exact"] is True
    assert body["factor"] == "0.001"
    assert body["path"] == [{"from": "MG", "to": "G", "factor": "0.001", "kind": "unit"}]
    assert body["from"] == {
        "input": "mg",
        "code": "MG",
        "name": "Milligram",
        "dimension": "mass",
        "unece_code": "MGM",
        "ucum_code": "mg",
    }
    assert body["to"]["code"] == "G"
    assert body["item"] is None


def test_url_without_trailing_slash_redirects(api):
    response = api.get("/api/v1/uom/convert", {"qty": "1", "from": "L", "to": "mL"}, follow=True)
    assert response.status_code == 200
    assert response.json()["quantity"] == "1000"


def test_item_conversion_between_levels(api, gloves):
    body = api.get(URL, {"item": gloves.pk, "qty": "2", "from": "CS", "to": "EA"}).json()
    assert (body["quantity"], body["factor"], body["item"]) == ("2000", "1000", gloves.pk)
    assert body["path"] == [
        {"from": "CS", "to": "BX", "factor": "10", "kind": "packaging"},
        {"from": "BX", "to": "EA", "factor": "100", "kind": "packaging"},
    ]
    body = api.get(URL, {"item": gloves.pk, "qty": "1", "from": "EA", "to": "BX"}).json()
    assert (body["quantity"], body["exact"]) == ("0.01", True)


def test_item_conversion_through_the_content(api, vials):
    body = api.get(URL, {"item": vials.pk, "qty": "2", "from": "CT", "to": "L"}).json()
    assert body["quantity"] == "1.5"
    assert [step["kind"] for step in body["path"]] == ["packaging", "content", "unit"]
    body = api.get(URL, {"item": vials.pk, "qty": "10", "from": "mL", "to": "VI"}).json()
    assert (body["quantity"], body["exact"]) == ("0.3333333333333333333333333333", False)


def test_x12_system_reads_ca_as_case(api, gloves):
    body = api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CA", "to": "EA", "system": "x12"}).json()
    assert (body["from"]["code"], body["quantity"]) == ("CS", "1000")
    response = api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CA", "to": "EA"})
    assert response.json()["code"] == "not_in_packaging"  # without the system, CA is a can


@pytest.mark.parametrize(
    ("params", "status", "code", "field", "message"),
    [
        ({"qty": "1", "from": "FOO", "to": "g"}, 400, "unknown_unit", "from", "Unknown unit 'FOO'"),
        ({"qty": "1", "from": "mg", "to": "mL"}, 400, "incompatible_dimensions", "to", "measure different things"),
        ({"qty": "abc", "from": "mg", "to": "g"}, 400, "invalid_quantity", "qty", "Quantity 'abc' is not a number."),
        ({"qty": "NaN", "from": "mg", "to": "g"}, 400, "invalid_quantity", "qty", "is not a finite number"),
        ({"qty": "1", "from": "BX", "to": "EA"}, 400, "needs_item", "from", "Convert it with an item."),
        ({"qty": "1", "from": "mg"}, 400, "invalid", "to", "This field is required."),
        ({"qty": "1", "from": "mg", "to": "g", "item": "x"}, 400, "invalid", "item", "A valid integer is required."),
        ({"qty": "1", "from": "EA", "to": "BX", "item": 999999}, 400, "unknown_item", "item", "no item 999999"),
    ],
)
def test_bad_requests_name_the_field(api, params, status, code, field, message):
    response = api.get(URL, params)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert message in body["errors"][field][0]


def test_mass_to_count_without_content_is_a_400(api, gloves):
    response = api.get(URL, {"item": gloves.pk, "qty": "5", "from": "mg", "to": "EA"})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], list(body["errors"])) == ("no_content", ["from"])
    assert "it has no content per base unit" in body["detail"]


def test_level_not_in_the_items_packaging_is_a_400(api, gloves):
    body = api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CT", "to": "EA"}).json()
    assert (body["code"], body["errors"]["from"][0]) == (
        "not_in_packaging",
        "'CT' (Carton) is not a packaging level of this item (its levels: EA, BX, CS).",
    )


def test_item_edits_show_up_in_conversions(api, gloves, steward):
    from items.models import ItemPackagingLevel
    from mdm.services.golden import golden_save_child

    box = ItemPackagingLevel.objects.get(item=gloves, level=1)
    box.quantity = 50
    golden_save_child(box, actor=steward, reason="supplier changed the box")
    assert api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CS", "to": "EA"}).json()["quantity"] == "500"
    gloves.description = "Nitrile exam gloves, M"
    golden_save(gloves, actor=steward, reason="t")
    assert api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CS", "to": "EA"}).json()["quantity"] == "500"


def test_permissions(anon_api, outsider, viewer, gloves):
    from rest_framework.test import APIClient

    assert anon_api.get(URL, {"qty": "1", "from": "mg", "to": "g"}).status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(outsider)
    assert client.get(URL, {"qty": "1", "from": "mg", "to": "g"}).status_code == 403
    client.force_authenticate(viewer)
    assert client.get(URL, {"qty": "1", "from": "mg", "to": "g"}).status_code == 200
    assert client.get(URL, {"item": gloves.pk, "qty": "1", "from": "CS", "to": "EA"}).status_code == 200


def test_query_count_is_constant(api, gloves, django_assert_max_num_queries):
    api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CS", "to": "EA"})  # registry warm
    with django_assert_max_num_queries(6):
        assert api.get(URL, {"item": gloves.pk, "qty": "1", "from": "CS", "to": "EA"}).status_code == 200
    with django_assert_max_num_queries(4):
        assert api.get(URL, {"qty": "1", "from": "mg", "to": "g"}).status_code == 200


def test_openapi_documents_the_parameters_and_errors():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/uom/convert/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"qty", "from", "to", "item", "system"} <= set(params)
    assert all(params[name]["required"] for name in ("qty", "from", "to"))
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConvertResult"
    }
    assert "400" in operation["responses"]
    result = schema["components"]["schemas"]["ConvertResult"]["properties"]
    assert {"quantity", "exact", "factor", "path", "from", "to", "item"} <= set(result)
