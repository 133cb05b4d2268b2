"""Attribute-based access limits (mdm.access): items by UNSPSC category, contracts and prices by facility.

A limited person sees only the records one of their limits admits, in the API (lists, details, as_of reads,
price lookups, online match), the steward pages (search, record page, review inbox, change requests) and the
admin; a record outside the limits looks exactly like one that does not exist. Real database, no mocks.
"""

import csv
import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from contracts.price_file import contract_prices_import_file
from contracts.services import contract_create, contract_price_create
from contracts.syndication import contract_price_publish, contract_publish
from mdm import access
from mdm.admin_limits import AccessLimitForm
from mdm.models import AccessLimit, AuditEvent, DecisionLog, MatchCandidate, SourceRecord
from mdm.models.changes import ChangeRequest
from mdm.services.file_import import FileImportError
from mdm.services.golden import golden_create_from_source
from mdm.tokens import issue_token

pytestmark = pytest.mark.django_db

ITEMS, CONTRACTS, PRICES = "/api/v1/items/", "/api/v1/contracts/", "/api/v1/prices/"
LOOKUP, COMPARE = "/api/v1/prices/lookup/", "/api/v1/prices/compare/"
MISSING = 987654


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def limit(entity_type, attribute, values, *, user=None, group=None, name="limit"):
    return AccessLimit.objects.create(
        name=name, user=user, group=group, entity_type=entity_type, attribute=attribute, values=values
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    return sorted(row["id"] for row in (body["results"] if isinstance(body, dict) else body))


@pytest.fixture
def catalog(steward, make_item, contract, units, supplier):
    """A glove (UNSPSC 42, medical equipment) and a pen (44, office supplies); a group-wide GPO contract and
    two local contracts of one facility each; a price of each item on each contract."""
    glove = make_item("Nitrile exam glove, large", part="G-100", unspsc="42132203")
    pen = make_item("Ballpoint pen, blue", part="P-200", unspsc="44121701")

    def local(number, facility):
        return contract_create(
            number=number,
            supplier=supplier,
            kind="local",
            facility=facility,
            start_date=dt.date(2026, 1, 1),
            end_date=dt.date(2026, 12, 31),
            currency="USD",
            actor=steward,
            reason="test",
        )

    north, mary = local("L-NORTH", "North Campus"), local("L-MARY", "St. Mary's Hospital")
    prices = {}
    for deal in (contract, north, mary):
        for item, amount in ((glove, "10.00"), (pen, "2.00")):
            prices[(deal.number, item.description.split()[0].lower())] = contract_price_create(
                contract=deal,
                item=item,
                unit=units["BX"],
                price=amount,
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
                actor=steward,
                reason="test",
            )
    return {"glove": glove, "pen": pen, "gpo": contract, "north": north, "mary": mary, "prices": prices}


def price_ids(catalog, *keys) -> list[int]:
    return sorted(catalog["prices"][key].pk for key in keys)


# --- items by category ----------------------------------------------------------------------------------------


def test_category_limit_cuts_the_item_api_and_hides_the_rest_like_missing_records(steward, catalog):
    glove, pen = catalog["glove"], catalog["pen"]
    limit("item", "category", ["42"], user=steward)
    api = client_for(steward)

    assert ids(api.get(ITEMS)) == [glove.pk]
    assert api.get(f"{ITEMS}{glove.pk}/").status_code == 200
    hidden, missing = api.get(f"{ITEMS}{pen.pk}/"), api.get(f"{ITEMS}{MISSING}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json(), "a record outside the limits looks exactly like a missing one"

    # Time travel reads the history through the same limits.
    now = timezone.now().isoformat()
    assert ids(api.get(ITEMS, {"as_of": now})) == [glove.pk]
    assert api.get(f"{ITEMS}{pen.pk}/", {"as_of": now}).status_code == 404
    assert api.get(f"{ITEMS}{glove.pk}/", {"as_of": now}).status_code == 200

    # A search or filter can't reach around the limit either.
    assert ids(api.get(ITEMS, {"search": "pen"})) == []


def test_prices_follow_the_item_limits_in_lists_lookups_and_comparisons(steward, catalog):
    glove, pen = catalog["glove"], catalog["pen"]
    limit("item", "category", ["42"], user=steward)
    api = client_for(steward)

    assert ids(api.get(PRICES)) == price_ids(
        catalog, ("VZ-2026-001", "nitrile"), ("L-NORTH", "nitrile"), ("L-MARY", "nitrile")
    )

    on = {"date": "2026-06-01"}
    hidden = api.get(LOOKUP, {"item": pen.pk, **on})
    missing = api.get(LOOKUP, {"item": MISSING, **on})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["code"] == "unknown_item" and hidden.json()["detail"] == f"There is no item {pen.pk}."
    assert api.get(COMPARE, {"item": pen.pk, **on}).json()["code"] == "unknown_item"
    # By supplier too.
    assert api.get(LOOKUP, {"item": pen.pk, "supplier": catalog["gpo"].supplier_id, **on}).status_code == 400

    found = api.get(LOOKUP, {"item": glove.pk, "qty": 10, **on})
    assert found.status_code == 200, found.json()


def test_category_limit_on_prices_alone(steward, catalog):
    limit("contract_price", "category", ["4413"], user=steward, name="office pens")  # family 4413 does not hold 4412
    limit("contract_price", "category", ["44121701"], user=steward, name="ballpoint pens")
    api = client_for(steward)
    assert ids(api.get(PRICES)) == price_ids(
        catalog, ("VZ-2026-001", "ballpoint"), ("L-NORTH", "ballpoint"), ("L-MARY", "ballpoint")
    )
    assert ids(api.get(ITEMS)) == sorted([catalog["glove"].pk, catalog["pen"].pk]), "items themselves are not limited"


# --- contracts and prices by facility ----------------------------------------------------------------------------


def test_a_group_facility_limit_applies_to_its_members_and_group_wide_contracts_stay_visible(steward, viewer, catalog):
    buyers = Group.objects.create(name="North Campus buyers")
    steward.groups.add(buyers)
    limit("contract", "facility", ["north campus"], group=buyers, name="North Campus")  # any case
    api = client_for(steward)

    assert ids(api.get(CONTRACTS)) == sorted([catalog["gpo"].pk, catalog["north"].pk])
    assert api.get(f"{CONTRACTS}{catalog['mary'].pk}/").status_code == 404
    assert ids(api.get(CONTRACTS, {"facility": "St. Mary's Hospital"})) == []
    assert ids(api.get(CONTRACTS, {"facility": "North Campus"})) == [catalog["north"].pk]
    assert api.get(f"{CONTRACTS}{catalog['north'].pk}/").json()["facility"] == "North Campus"
    # Prices are seen through their contract.
    visible = api.get(PRICES)
    assert ids(visible) == sorted(
        p.pk for (number, _), p in catalog["prices"].items() if number in ("VZ-2026-001", "L-NORTH")
    )
    mary_price = catalog["prices"][("L-MARY", "nitrile")]
    assert api.get(f"{PRICES}{mary_price.pk}/").status_code == 404
    # The lookup weighs only the prices the member may see: St. Mary's local price is not among its candidates.
    body = api.get(LOOKUP, {"item": catalog["glove"].pk, "qty": 10, "date": "2026-06-01"}).json()
    seen = {candidate["contract_number"] for candidate in body["candidates"]}
    assert seen == {"VZ-2026-001", "L-NORTH"}, body

    # Someone outside the group is not limited.
    assert ids(client_for(viewer).get(CONTRACTS)) == sorted(
        c.pk for c in (catalog["gpo"], catalog["north"], catalog["mary"])
    )


def test_price_facility_limit_and_two_limits_or_together(steward, catalog):
    limit("contract_price", "facility", ["St. Mary's Hospital"], user=steward, name="St. Mary's")
    api = client_for(steward)
    mine = [key for key in catalog["prices"] if key[0] in ("VZ-2026-001", "L-MARY")]
    assert ids(api.get(PRICES)) == price_ids(catalog, *mine)

    access.forget(steward)
    group = Group.objects.create(name="North Campus")
    steward.groups.add(group)
    limit("contract_price", "facility", ["North Campus"], group=group, name="North")
    assert ids(api.get(PRICES)) == sorted(p.pk for p in catalog["prices"].values()), "own and group limits OR together"


def test_two_category_limits_or_together(steward, catalog, make_item):
    drape = make_item("Surgical drape", part="D-1", unspsc="53131608")
    limit("item", "category", ["42"], user=steward, name="medical equipment")
    limit("item", "category", ["53"], user=steward, name="personal care")
    assert ids(client_for(steward).get(ITEMS)) == sorted([catalog["glove"].pk, drape.pk])


def test_superusers_are_never_limited_and_people_without_limits_are_unaffected(steward, viewer, catalog):
    admin = User.objects.create_superuser("root", password="correct horse battery")
    limit("item", "category", ["42"], user=admin)
    limit("item", "category", ["42"], user=steward)
    everything = sorted([catalog["glove"].pk, catalog["pen"].pk])
    assert ids(client_for(admin).get(ITEMS)) == everything
    assert ids(client_for(viewer).get(ITEMS)) == everything
    assert access.limits_for(viewer) == {}


def test_token_requests_follow_the_accounts_limits(integration, catalog):
    limit("item", "category", ["42"], user=integration)
    _, secret = issue_token(integration, name="Odoo connector", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert ids(client.get(ITEMS)) == [catalog["glove"].pk]
    assert client.get(f"{ITEMS}{catalog['pen'].pk}/").status_code == 404


def test_item_conversions_refuse_an_item_outside_the_limits_like_a_missing_one(steward, catalog):
    limit("item", "category", ["42"], user=steward)
    api = client_for(steward)
    url = "/api/v1/uom/convert/"
    query = {"qty": "1", "from": "BX", "to": "EA"}
    assert api.get(url, {**query, "item": catalog["glove"].pk}).status_code == 200
    hidden = api.get(url, {**query, "item": catalog["pen"].pk})
    assert hidden.status_code == 400 and hidden.json()["code"] == "unknown_item", hidden.json()


# --- steward pages ---------------------------------------------------------------------------------------------


def test_search_and_record_pages_hide_items_outside_the_limits(client, steward, catalog):
    glove, pen = catalog["glove"], catalog["pen"]
    limit("item", "category", ["42"], user=steward)
    client.force_login(steward)

    html = client.get(reverse("search"), {"type": "item"}).content.decode()
    assert f'href="/records/item/{glove.pk}/"' in html and f'href="/records/item/{pen.pk}/"' not in html
    html = client.get(reverse("search"), {"q": "ballpoint pen"}).content.decode()
    assert f'href="/records/item/{pen.pk}/"' not in html

    assert client.get(reverse("record-detail", args=["item", glove.pk])).status_code == 200
    hidden = client.get(reverse("record-detail", args=["item", pen.pk]))
    assert hidden.status_code == 404
    assert client.get(reverse("record-edit", args=["item", pen.pk])).status_code == 404
    assert client.post(reverse("record-retire", args=["item", pen.pk]), {"reason": "x"}).status_code == 404


def test_change_requests_about_records_outside_the_limits_are_hidden(client, steward, approver, catalog):
    proposer = client_for(approver)
    made = {}
    for name in ("glove", "pen"):
        response = proposer.post(
            "/api/v1/change-requests/",
            {
                "entity_type": "item",
                "kind": "update",
                "object_id": catalog[name].pk,
                "changes": {"short_name": f"{name} (short)"},
                "reason": "catalog fix",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        made[name] = response.json()["id"]
    limit("item", "category", ["42"], user=steward)

    assert ids(client_for(steward).get("/api/v1/change-requests/")) == [made["glove"]]
    assert client_for(steward).get(f"/api/v1/change-requests/{made['pen']}/").status_code == 404
    client.force_login(steward)
    html = client.get("/changes/", {"tab": "all"}).content.decode()
    assert f'href="/changes/{made["glove"]}/"' in html and f'href="/changes/{made["pen"]}/"' not in html
    assert client.get(f"/changes/{made['pen']}/").status_code == 404
    assert ChangeRequest.objects.count() == 2

    # Nor can the steward propose a change to a record they can't see: the answer is the one for a missing record.
    def propose(object_id):
        body = {"entity_type": "item", "kind": "update", "object_id": object_id, "changes": {"short_name": "x"}}
        return client_for(steward).post("/api/v1/change-requests/", {**body, "reason": "fix"}, format="json")

    hidden, missing = propose(catalog["pen"].pk), propose(MISSING)
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["errors"] == {"object_id": [f"Item {catalog['pen'].pk} does not exist."]}
    assert ChangeRequest.objects.count() == 2


def test_review_inbox_and_match_api_hide_proposals_outside_the_limits(client, steward, catalog, make_item):
    other_glove = make_item("Nitrile exam glove, L", part="G-101", unspsc="42132203")
    other_pen = make_item("Ballpoint pen blue", part="P-201", unspsc="44121701")

    def pair(a, b):
        return MatchCandidate.objects.create(
            entity_type="item",
            kind=MatchCandidate.Kind.DUPLICATE,
            left_ref=f"g:{a.pk}",
            right_ref=f"g:{b.pk}",
            left_golden_id=a.pk,
            right_golden_id=b.pk,
            probability=0.9,
            match_weight=3.0,
            band="review",
            explanation={"probability": 0.9, "match_weight": 3.0, "prior_weight": -5.0, "fields": []},
        )

    gloves, pens = pair(catalog["glove"], other_glove), pair(catalog["pen"], other_pen)
    mixed = pair(catalog["glove"], other_pen)  # one side outside the limits: hidden too
    limit("item", "category", ["42"], user=steward)

    assert ids(client_for(steward).get("/api/v1/match/candidates/")) == [gloves.pk]
    assert client_for(steward).get(f"/api/v1/match/candidates/{pens.pk}/").status_code == 404
    client.force_login(steward)
    html = client.get("/review/").content.decode()
    assert f'href="/review/{gloves.pk}/' in html
    assert f'href="/review/{pens.pk}/' not in html and f'href="/review/{mixed.pk}/' not in html
    assert client.get(f"/review/{pens.pk}/").status_code == 404
    assert client.post(f"/review/{pens.pk}/decide/", {"decision": "distinct"}).status_code == 404
    pens.refresh_from_db()
    assert pens.status == MatchCandidate.Status.OPEN


def test_online_match_leaves_out_records_outside_the_limits(
    steward, viewer, make_item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        glove = make_item("Nitrile exam glove, large", part="SAME-1", unspsc="42132203")
        pen = make_item("Ballpoint pen, blue", part="SAME-1", unspsc="44121701")
    body = {"part_number": "SAME-1"}
    everyone = client_for(viewer).post("/api/v1/match/items/", body, format="json")
    assert everyone.status_code == 200, everyone.json()
    assert {row["golden_id"] for row in everyone.json()} >= {glove.pk, pen.pk}

    limit("item", "category", ["42"], user=steward)
    limited = client_for(steward).post("/api/v1/match/items/", body, format="json").json()
    assert [row["golden_id"] for row in limited] == [glove.pk]


def test_decision_log_lineage_and_exports_leave_out_records_outside_the_limits(client, steward, catalog):
    for name in ("glove", "pen"):
        DecisionLog.objects.create(
            action=DecisionLog.Action.APPLIED, entity_type="item", object_id=catalog[name].pk, summary=f"{name} fixed"
        )
    DecisionLog.objects.create(action=DecisionLog.Action.DISTINCT, entity_type="supplier", summary="suppliers apart")
    limit("item", "category", ["42"], user=steward)
    api = client_for(steward)

    assert sorted(row["summary"] for row in api.get("/api/v1/decisions/").json()["results"]) == [
        "glove fixed",
        "suppliers apart",
    ]
    exported = b"".join(api.get("/api/v1/decisions/export/", HTTP_ACCEPT="text/csv").streaming_content).decode()
    assert "glove fixed" in exported and "pen fixed" not in exported
    client.force_login(steward)
    page = b"".join(client.get(reverse("decisions-export")).streaming_content).decode()
    assert "glove fixed" in page and "pen fixed" not in page

    assert api.get(f"/api/v1/lineage/item/{catalog['glove'].pk}/").status_code == 200
    hidden = api.get(f"/api/v1/lineage/item/{catalog['pen'].pk}/")
    assert hidden.status_code == 404 and hidden.json()["detail"] == f"Item {catalog['pen'].pk} does not exist."


def test_admin_lists_hide_records_outside_the_limits(client, catalog):
    staff = User.objects.create_user("ada.admin", password="correct horse battery", is_staff=True)
    staff.groups.add(Group.objects.get(name="viewer"))
    limit("item", "category", ["42"], user=staff)
    client.force_login(staff)
    html = client.get("/admin/items/item/").content.decode()
    assert "Nitrile exam glove" in html and "Ballpoint pen" not in html


# --- managing limits -------------------------------------------------------------------------------------------


def form(**data):
    return AccessLimitForm(data={"name": "test", "entity_type": "item", "attribute": "category", **data})


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"attribute": "colour", "values": "42"},
            "attribute",
            "Item records have no attribute 'colour' for access limits; declared: category.",
        ),
        (
            {"values": "4"},
            "values",
            "'4' is not a UNSPSC category: give a segment (2 digits, e.g. 42), family (4), class (6) or commodity (8).",
        ),
        ({"values": "00"}, "values", "UNSPSC category '00' has segment 00, which does not exist."),
        ({"values": "   "}, "values", "This field is required."),
        (
            {"entity_type": "contract", "attribute": "category", "values": "42"},
            "attribute",
            "Contract records have no attribute 'category' for access limits; declared: facility.",
        ),
        (
            {"entity_type": "supplier", "values": "42"},
            "entity_type",
            "Select a valid choice. supplier is not one of the available choices.",
        ),
    ],
)
def test_the_admin_form_refuses_invalid_limits_with_the_reason(steward, data, field, message):
    bound = form(user=steward.pk, **data)
    assert not bound.is_valid()
    assert message in bound.errors[field], bound.errors


def test_the_admin_form_needs_exactly_one_of_user_and_group(steward):
    group = Group.objects.create(name="buyers")
    for extra in ({}, {"user": steward.pk, "group": group.pk}):
        bound = form(values="42", **extra)
        assert not bound.is_valid()
        assert "Choose either a user or a group" in bound.non_field_errors()[0]


def test_clean_limit_names_the_declared_attributes():
    with pytest.raises(Exception) as caught:
        access.clean_limit("supplier", "country", ["US"])
    assert "limits can be set on: contract (facility); contract_price (category, facility); item (category)" in str(
        caught.value
    )
    assert access.clean_limit("item", "category", ["42", " 4213 ", "42"]) == ["42", "4213"]
    assert access.clean_limit("contract", "facility", ["  North   Campus "]) == ["North Campus"]


def test_the_admin_stores_a_valid_limit_and_audits_it(client, steward):
    admin = User.objects.create_superuser("root", password="correct horse battery")
    client.force_login(admin)
    response = client.post(
        reverse("admin:mdm_accesslimit_add"),
        {
            "name": "Medical equipment",
            "user": steward.pk,
            "entity_type": "item",
            "attribute": "category",
            "values": "42\n4213",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = AccessLimit.objects.get()
    assert (row.user, row.entity_type, row.attribute, row.values) == (steward, "item", "category", ["42", "4213"])
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_LIMIT_CHANGE)
    assert event.actor == admin and event.detail["after"]["values"] == ["42", "4213"]
    assert "42, 4213" in client.get(reverse("admin:mdm_accesslimit_changelist")).content.decode()

    refused = client.post(
        reverse("admin:mdm_accesslimit_add"),
        {"name": "Bad", "user": steward.pk, "entity_type": "item", "attribute": "colour", "values": "42"},
    )
    assert refused.status_code == 200 and "declared: category" in refused.content.decode()
    assert AccessLimit.objects.count() == 1


def test_a_limit_row_the_registry_no_longer_declares_admits_nothing(steward, catalog):
    limit("item", "colour", ["blue"], user=steward)  # written around the form
    assert ids(client_for(steward).get(ITEMS)) == []


# --- the facility on contracts ---------------------------------------------------------------------------------

PRICE_FILE_HEADER = ["Contract Number", "Supplier", "Vendor #", "Mfr Part #", "UOM", "Contract Price"]
PRICE_FILE_HEADER += ["Effective Date", "Expiration Date", "Currency", "Business Unit"]


def price_file(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(PRICE_FILE_HEADER)
        for number, part, facility in rows:
            writer.writerow(
                [number, "PULMODYNE INC", "V4001", part, "BX", "41.50", "2026-01-01", "2026-12-31", "USD", facility]
            )
    return path


def test_a_price_files_facility_reaches_the_contract_its_api_and_its_syndication(tmp_path, gpo, steward, units):
    path = price_file(tmp_path / "local.csv", [("L-7", "313-71-015", "North  Campus"), ("L-8", "313-71-016", "")])
    contract_prices_import_file(path=path, system=gpo, kind="local", actor=steward)
    north = SourceRecord.objects.get(entity_type="contract", external_id="L-7")
    group_wide = SourceRecord.objects.get(entity_type="contract", external_id="L-8")
    assert north.standardized["facility"] == "North Campus"
    assert "facility" not in group_wide.standardized, "no facility cell: group-wide, the payload keeps its old form"

    golden_create_from_source(SourceRecord.objects.get(entity_type="supplier"), actor=steward)
    contract = golden_create_from_source(north, actor=steward)
    assert contract.facility == "North Campus"
    assert golden_create_from_source(group_wide, actor=steward).facility == ""
    assert contract_publish(contract)["facility"] == "North Campus"
    assert client_for(steward).get(f"{CONTRACTS}{contract.pk}/").json()["facility"] == "North Campus"


def test_a_price_file_giving_one_contract_two_facilities_is_refused(tmp_path, gpo, steward, units):
    path = price_file(tmp_path / "local.csv", [("L-9", "313-71-015", "North Campus"), ("L-9", "313-71-016", "South")])
    with pytest.raises(FileImportError) as caught:
        contract_prices_import_file(path=path, system=gpo, kind="local", actor=steward)
    [error] = caught.value.row_errors
    assert (
        error["row"] == 3
        and "Business Unit: contract L-9 is given North Campus on row 2 and South here" in error["errors"]
    )
    assert not SourceRecord.objects.exists()


def test_price_payloads_and_api_rows_carry_the_contracts_facility(steward, catalog):
    price = catalog["prices"][("L-NORTH", "nitrile")]
    assert contract_price_publish(price)["contract"]["facility"] == "North Campus"
    row = client_for(steward).get(f"{PRICES}{price.pk}/").json()
    assert row["facility"] == "North Campus"
    assert ids(client_for(steward).get(PRICES, {"facility": "north campus"})) == price_ids(
        catalog, ("L-NORTH", "nitrile"), ("L-NORTH", "ballpoint")
    )
