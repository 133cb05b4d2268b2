"""Suppliers API: list, detail, filters, search, as_of, permissions, and a constant number of queries."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mdm.services.golden import golden_save_child, golden_set_status
from suppliers.models import SupplierAlias
from suppliers.services import supplier_create, supplier_rename
from tests.suppliers.factories import (
    ACCOUNT,
    GLN,
    IBAN,
    SupplierAddressFactory,
    SupplierAliasFactory,
    SupplierBankAccountFactory,
    SupplierContactFactory,
    SupplierFactory,
)

URL = "/api/v1/suppliers/"


def names(response):
    assert response.status_code == 200, response.content
    return [s["legal_name"] for s in response.json()["results"]]


@pytest.fixture
def suppliers(steward, odoo):
    medline = supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "duns": "025483210",
            "ein": "36-1234567",
            "gln": GLN,
            "screening_status": "clear",
            "aliases": ["Medline"],
            "addresses": [{"kind": "remit_to", "line1": "Dept CH 14400", "city": "Palatine", "country": "US"}],
            "bank_accounts": [{"holder_name": "Medline", "aba_routing": "021000021", "account_number": ACCOUNT}],
        },
        system=odoo,
        actor=steward,
        reason="t",
    )
    bbraun = supplier_create(
        data={
            "legal_name": "B. Braun Melsungen AG",
            "vat": "DE136695976",
            "screening_status": "flagged",
            "aliases": ["BBraun"],
            "addresses": [
                {"kind": "headquarters", "line1": "Carl-Braun-Strasse 1", "city": "Melsungen", "country": "DE"},
                {"kind": "ship_from", "line1": "Am Schwerzelshof 1", "city": "Melsungen", "country": "DE"},
            ],
            "bank_accounts": [{"holder_name": "B. Braun", "iban": IBAN, "currency": "EUR"}],
        },
        actor=steward,
        reason="t",
    )
    return {"medline": medline, "bbraun": bbraun}


@pytest.mark.django_db
class TestList:
    def test_detail_has_identifiers_and_children(self, api, suppliers, odoo):
        data = api.get(f"{URL}{suppliers['medline'].pk}/").json()
        assert (data["legal_name"], data["duns"], data["ein"], data["gln"]) == (
            "Medline Industries, LP",
            "025483210",
            "36-1234567",
            GLN,
        )
        assert data["aliases"] == [{"name": "Medline", "kind": "trading", "system": "odoo-prod"}]
        assert data["addresses"][0]["city"] == "Palatine"
        assert data["bank_accounts"] == [
            {
                "holder_name": "Medline",
                "bank_name": "",
                "currency": "",
                "scheme": "aba",
                "aba_routing": "021000021",
                "account_number_masked": "••••3210",
                "is_primary": True,
            }
        ]
        assert (data["status"], data["version"], data["screening_status"]) == ("active", 1, "clear")

    def test_bank_numbers_are_never_in_the_response(self, api, suppliers):
        for url in (URL, f"{URL}{suppliers['bbraun'].pk}/", f"{URL}{suppliers['medline'].pk}/"):
            body = api.get(url).content.decode()
            assert ACCOUNT not in body and IBAN not in body
        iban_account = api.get(f"{URL}{suppliers['bbraun'].pk}/").json()["bank_accounts"][0]
        assert (iban_account["scheme"], iban_account["account_number_masked"]) == ("iban", "••••3000")
        assert "iban" not in iban_account and "account_number" not in iban_account

    def test_list_is_ordered_by_legal_name(self, api, suppliers):
        assert names(api.get(URL)) == ["B. Braun Melsungen AG", "Medline Industries, LP"]
        assert names(api.get(URL, {"ordering": "-legal_name"})) == ["Medline Industries, LP", "B. Braun Melsungen AG"]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"duns": "02-548-3210"}, ["Medline Industries, LP"]),
            ({"ein": "361234567"}, ["Medline Industries, LP"]),
            ({"gln": GLN}, ["Medline Industries, LP"]),
            ({"vat": "de136695976"}, ["B. Braun Melsungen AG"]),
            ({"country": "de"}, ["B. Braun Melsungen AG"]),
            ({"country": "US"}, ["Medline Industries, LP"]),
            ({"screening_status": "flagged"}, ["B. Braun Melsungen AG"]),
            ({"legal_name": "braun"}, ["B. Braun Melsungen AG"]),
            ({"status": "active"}, ["B. Braun Melsungen AG", "Medline Industries, LP"]),
            ({"search": "medline"}, ["Medline Industries, LP"]),
            ({"search": "bbraun"}, ["B. Braun Melsungen AG"]),
            ({"search": "025483210"}, ["Medline Industries, LP"]),
            ({"search": "36-1234567"}, ["Medline Industries, LP"]),
            ({"search": "melsungen ag"}, ["B. Braun Melsungen AG"]),
        ],
    )
    def test_filters_and_search(self, api, suppliers, params, expected):
        assert names(api.get(URL, params)) == expected

    def test_search_by_alias_lists_a_supplier_once(self, api, suppliers, steward):
        golden_save_child(
            SupplierAlias(supplier=suppliers["bbraun"], name="B Braun Medical"), actor=steward, reason="t"
        )
        assert names(api.get(URL, {"search": "braun"})) == ["B. Braun Melsungen AG"]

    def test_malformed_identifier_filter_is_400_naming_it(self, api, suppliers):
        response = api.get(URL, {"ein": "07-1234567", "country": "XX"})
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert "prefix" in errors["ein"][0] and "ISO 3166" in errors["country"][0]

    def test_retired_supplier_is_filterable(self, api, suppliers, steward):
        golden_set_status(suppliers["bbraun"], status="retired", actor=steward, reason="t")
        assert names(api.get(URL, {"status": "retired"})) == ["B. Braun Melsungen AG"]
        assert api.get(f"{URL}{suppliers['bbraun'].pk}/").json()["status"] == "retired"

    def test_read_only(self, api, suppliers):
        response = api.post(URL, {"legal_name": "x"}, format="json")
        assert response.status_code == 405, response.content
        # No delete permission for any role (403) and no delete route (405): either way it stays.
        assert api.delete(f"{URL}{suppliers['medline'].pk}/").status_code in (403, 405)
        assert api.get(f"{URL}{suppliers['medline'].pk}/").status_code == 200


@pytest.mark.django_db
class TestAsOf:
    def test_as_of_before_an_edit_returns_the_earlier_name_and_aliases(self, api, suppliers, steward):
        medline = suppliers["medline"]
        before = timezone.now()
        supplier_rename(medline, legal_name="Medline Industries, Inc.", actor=steward, reason="conversion")
        golden_save_child(SupplierAlias(supplier=medline, name="Medline US"), actor=steward, reason="t")

        live = api.get(f"{URL}{medline.pk}/").json()
        assert (live["legal_name"], live["version"]) == ("Medline Industries, Inc.", 2)
        assert sorted(a["name"] for a in live["aliases"]) == ["Medline", "Medline Industries, LP", "Medline US"]

        then = api.get(f"{URL}{medline.pk}/", {"as_of": before.isoformat()}).json()
        assert (then["legal_name"], then["version"]) == ("Medline Industries, LP", 1)
        assert [a["name"] for a in then["aliases"]] == ["Medline"]
        assert then["bank_accounts"][0]["account_number_masked"] == "••••3210"

        listed = api.get(URL, {"as_of": before.isoformat(), "legal_name": "LP"}).json()["results"]
        assert [s["legal_name"] for s in listed] == ["Medline Industries, LP"]

    def test_as_of_with_a_filter_on_addresses_is_400(self, api, suppliers):
        response = api.get(URL, {"as_of": timezone.now().isoformat(), "country": "US"})
        assert response.status_code == 400
        assert "not available together with as_of" in response.json()["errors"]["country"][0]


@pytest.mark.django_db
class TestPermissions:
    def test_viewer_reads_outsider_and_anonymous_do_not(self, viewer, outsider, anon_api, suppliers):
        client = APIClient()
        client.force_authenticate(viewer)
        assert client.get(URL).status_code == 200
        client.force_authenticate(outsider)
        assert client.get(URL).status_code == 403
        assert anon_api.get(URL).status_code in (401, 403)


@pytest.mark.django_db
def test_list_runs_a_constant_number_of_queries(api, django_assert_max_num_queries):
    for _ in range(30):
        account = SupplierBankAccountFactory()
        SupplierAliasFactory.create_batch(2, supplier=account.supplier)
        SupplierAddressFactory.create_batch(2, supplier=account.supplier)
        SupplierContactFactory(supplier=account.supplier)
    # User and group permissions (2), count, page, and one query per kind of child (4): 8, whatever the page size.
    with django_assert_max_num_queries(8):
        response = api.get(URL, {"page_size": 30})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 30
    assert all(len(s["aliases"]) == 2 and len(s["bank_accounts"]) == 1 for s in results)


@pytest.mark.django_db
def test_supplier_factory_makes_a_listable_supplier(api):
    supplier = SupplierFactory(legal_name="Owens & Minor Distribution, Inc.")
    assert names(api.get(URL, {"search": "owens"})) == [supplier.legal_name]
