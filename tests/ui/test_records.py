"""Search, record pages, propose/create/retire/unmerge forms and duplicate suggestions, through Django's test client."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from items.services import item_create
from mdm.models import ChangeRequest, SourceRecord
from mdm.services.changes import change_request_approve, change_request_create, merge_propose
from mdm.services.golden import golden_create_from_source
from mdm.services.ingest import source_records_ingest
from mdm.services.matching import match_keys_refresh
from suppliers.models import Supplier
from suppliers.services import supplier_create
from uom.services import unit_create

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


@pytest.fixture
def units(steward):
    for code, name in (("EA", "Each"), ("BX", "Box")):
        unit_create(code=code, name=name, dimension="count", actor=steward, reason="test")


@pytest.fixture
def make_item(steward, units):
    def make(description, *, part="313-71-015", **extra):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": "42271706",
                "base_unit": "EA",
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def make_supplier(steward):
    def make(name, **extra):
        return supplier_create(data={"legal_name": name, **extra}, actor=steward, reason="initial load")

    return make


@pytest.fixture
def medline(odoo, steward, django_capture_on_commit_callbacks):
    """A supplier created from an Odoo record carrying a bank account (the IBAN is sealed at rest)."""
    payload = {
        "legal_name": "Medline Industries, LP",
        "ein": "36-1234567",
        "duns": "025483210",
        "bank_accounts": [{"holder_name": "Medline Industries", "iban": IBAN}],
    }
    source_records_ingest(
        system=odoo,
        entity_type="supplier",
        records=[{"external_id": "V-100", "payload": payload}],
        actor=steward,
        match=False,
    )
    record = SourceRecord.objects.get(system=odoo, external_id="V-100")
    with django_capture_on_commit_callbacks(execute=True):
        return golden_create_from_source(record, actor=steward)


def login(client, user):
    client.force_login(user)
    return client


def detail(supplier, **query):
    url = reverse("record-detail", args=["supplier", supplier.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def field_row(html: str, field: str) -> str:
    match = re.search(rf'<tr data-field="{field}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {field}"
    return match.group(1)


def propose_rename(supplier, actor, name="Medline Industries, Inc."):
    return change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=supplier.pk,
        changes={"legal_name": name},
        actor=actor,
        reason="name on the W-9",
    )


# --- the record page --------------------------------------------------------------------------------------------


def test_record_page_shows_fields_lineage_sources_and_history(client, steward, approver, medline):
    change_request_approve(propose_rename(medline, steward), actor=approver)
    html = login(client, steward).get(detail(medline)).content.decode()
    assert "Medline Industries, Inc." in html
    row = field_row(html, "ein")
    assert "36-1234567" in row and "odoo-prod" in row  # the value and where it came from
    assert "steward sam.steward" in field_row(html, "legal_name")  # the rename, by whom
    # the linked source record, its payload masked
    assert "V-100" in html and "odoo-prod" in html
    assert IBAN not in html and "sealed" not in html
    assert "••••3000" in html
    # history: newest first, with reason and what changed
    history = html[html.index('id="history"') :]
    assert history.index("name on the W-9") < history.index("created from source record")
    assert "Medline Industries, LP" in history and "Medline Industries, Inc." in history


def test_record_page_shows_child_history_and_bank_accounts_masked(client, steward, make_supplier):
    supplier = make_supplier(
        "Cardinal Health 200, LLC",
        aliases=["CARDINAL HEALTH"],
        bank_accounts=[{"holder_name": "Cardinal", "aba_routing": "071000013", "account_number": "12345678901"}],
    )
    html = login(client, steward).get(detail(supplier)).content.decode()
    assert "CARDINAL HEALTH" in field_row(html, "aliases")
    assert "••••8901" in field_row(html, "bank_accounts")
    assert "12345678901" not in html
    assert "Supplier alias CARDINAL HEALTH" in html  # children's history is on the timeline


def test_as_of_shows_the_record_as_it_was(client, steward, approver, medline):
    before = timezone.now()
    change_request_approve(propose_rename(medline, steward), actor=approver)
    client = login(client, steward)
    html = client.get(detail(medline, as_of=before.isoformat().replace("+00:00", "Z"))).content.decode()
    assert 'id="as-of-banner"' in html
    assert "Medline Industries, LP" in field_row(html, "legal_name")
    assert "Medline Industries, Inc." not in field_row(html, "legal_name")
    assert 'id="propose-change"' not in html  # the past is read-only

    response = client.get(detail(medline, as_of="2001-01-01"))
    assert response.status_code == 404
    assert "did not exist yet" in response.content.decode()

    response = client.get(detail(medline, as_of="last tuesday"))
    assert response.status_code == 200 and "is not a date" in response.content.decode()


def test_as_of_reads_children_as_they_were(client, steward, approver, make_supplier):
    supplier = make_supplier("Owens & Minor Distribution", aliases=["O&M"])
    moment = timezone.now().isoformat().replace("+00:00", "Z")
    supplier.aliases.get().delete()  # a later change: the alias went away
    html = login(client, steward).get(detail(supplier)).content.decode()
    assert "O&amp;M" not in field_row(html, "aliases")
    assert "Supplier alias O&amp;M</strong> deleted" in html
    html = client.get(detail(supplier, as_of=moment)).content.decode()
    assert "O&amp;M" in field_row(html, "aliases")
    assert "Supplier alias O&amp;M</strong> deleted" not in html  # the timeline stops at the moment shown


def test_item_page_shows_units_by_code_and_packaging(
    client, steward, approver, make_item, django_assert_max_num_queries
):
    item = make_item(
        "Nitrile exam glove, large",
        short_name="Glove nitrile L",
        packaging=[
            {"unit": "EA", "quantity": 1, "gtin": ""},
            {"unit": "BX", "quantity": 100, "gtin": "10888277123458"},
        ],
    )
    cr = change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        changes={
            "base_unit": "BX",
            "packaging": [{"level": 0, "unit": "BX", "quantity": 1, "gtin": "10888277123458"}],
            "sterile": True,
        },
        actor=steward,
        reason="sold by the box",
    )
    change_request_approve(cr, actor=approver)
    client = login(client, steward)
    with django_assert_max_num_queries(20):  # history of the item and its packaging: a query per table, not per row
        html = client.get(reverse("record-detail", args=["item", item.pk])).content.decode()
    assert "Glove nitrile L (313-71-015)" in html
    assert "BX" in field_row(html, "base_unit") and "yes" in field_row(html, "sterile")
    assert "10888277123458" in field_row(html, "packaging")
    history = html[html.index('id="history"') :]
    change = re.search(r"<td>Base unit</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>", history)
    assert change and "EA" in change.group(1) and "BX" in change.group(2)  # the unit's code, not its row id
    html = client.get(reverse("record-edit", args=["item", item.pk])).content.decode()
    assert re.search(r'name="base_unit" value="BX"', html) and 'name="packaging"' not in html


def test_unknown_entity_or_record_is_404(client, steward, medline):
    client = login(client, steward)
    assert client.get("/records/spaceship/1/").status_code == 404
    assert client.get(reverse("record-detail", args=["supplier", medline.pk + 999])).status_code == 404


def test_outsider_gets_403_and_anonymous_is_sent_to_login(client, outsider, medline):
    assert client.get(detail(medline)).status_code == 302
    response = login(client, outsider).get(detail(medline))
    assert response.status_code == 403 and "may not read supplier records" in response.content.decode()


def test_viewer_sees_no_action_buttons_and_cannot_post(client, viewer, medline):
    client = login(client, viewer)
    html = client.get(detail(medline)).content.decode()
    assert "Medline Industries, LP" in html
    for marker in ('id="propose-change"', 'id="retire-form"', 'id="unmerge-form"'):
        assert marker not in html
    edit = reverse("record-edit", args=["supplier", medline.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"legal_name": "X", "reason": "x"}).status_code == 403
    assert client.post(reverse("record-retire", args=["supplier", medline.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("record-unmerge", args=["supplier", medline.pk]), {"reason": "x"}).status_code == 403
    assert client.get(reverse("record-create", args=["supplier"])).status_code == 403
    assert ChangeRequest.objects.count() == 0


def test_open_change_requests_and_merges_are_listed(client, steward, approver, make_supplier):
    survivor = make_supplier("Medline Industries, LP")
    merged = make_supplier("MEDLINE IND LP")
    cr = merge_propose(
        entity_type="supplier", survivor_id=survivor.pk, merged_id=merged.pk, actor=steward, reason="same company"
    )
    client = login(client, steward)
    for record in (survivor, merged):  # the merge is open on both records' pages
        assert f'href="/changes/{cr.pk}/"' in client.get(detail(record)).content.decode()
    change_request_approve(cr, actor=approver)
    html = client.get(detail(merged)).content.decode()
    assert f'Merged into <a href="/records/supplier/{survivor.pk}/">#{survivor.pk}</a>' in html
    assert f"change request #{cr.pk}" in html
    assert 'id="unmerge-form"' in html and 'id="propose-change"' not in html and 'id="retire-form"' not in html
    html = client.get(detail(survivor)).content.decode()
    assert f'Absorbed <a href="/records/supplier/{merged.pk}/">#{merged.pk}</a>' in html
    assert 'id="unmerge-form"' not in html


# --- proposing changes ------------------------------------------------------------------------------------------


def edit_data(supplier, **changes):
    data = {
        "legal_name": supplier.legal_name,
        "duns": supplier.duns,
        "uei": supplier.uei,
        "ein": supplier.ein,
        "vat": supplier.vat,
        "gln": supplier.gln,
        "hibcc_lic": supplier.hibcc_lic,
        "screening_status": supplier.screening_status,
        "screened_on": supplier.screened_on.isoformat() if supplier.screened_on else "",
        "base_version": supplier.version,
        "reason": "W-9 received",
    }
    data.update(changes)
    return data


def test_edit_form_is_prefilled_and_skips_list_fields(client, steward, medline):
    html = login(client, steward).get(reverse("record-edit", args=["supplier", medline.pk])).content.decode()
    assert 'name="legal_name"' in html and 'value="Medline Industries, LP"' in html
    assert f'name="base_version" value="{medline.version}"' in html
    assert 'name="bank_accounts"' not in html and 'name="aliases"' not in html
    assert 'name="reason"' in html


def test_edit_creates_a_change_request_with_only_the_changed_fields(client, steward, medline):
    url = reverse("record-edit", args=["supplier", medline.pk])
    response = login(client, steward).post(url, edit_data(medline, duns="", gln="0614141000005", uei="ABCDEF123456"))
    cr = ChangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/changes/{cr.pk}/"
    assert cr.kind == "update" and cr.object_id == medline.pk and cr.status == "submitted"
    assert cr.changes == {"duns": "", "gln": "0614141000005", "uei": "ABCDEF123456"}
    assert cr.reason == "W-9 received" and cr.requested_by == steward and cr.base_version == medline.version
    medline.refresh_from_db()
    assert medline.gln == ""  # nothing changes before an approver applies it


def test_edit_validation_errors_are_shown_per_field_and_input_kept(client, steward, medline):
    url = reverse("record-edit", args=["supplier", medline.pk])
    response = login(client, steward).post(url, edit_data(medline, ein="12-34", legal_name="Medline X", reason=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-field="reason">.*?errorlist', html, re.S)
    assert ChangeRequest.objects.count() == 0
    response = client.post(url, edit_data(medline, ein="12-34", legal_name="Medline X"))
    html = response.content.decode()
    ein = re.search(r'data-field="ein">(.*?)</div>', html, re.S).group(1)
    assert "errorlist" in ein and 'value="12-34"' in ein  # the message next to the field, the input kept
    assert 'value="Medline X"' in html
    assert ChangeRequest.objects.count() == 0


def test_edit_without_a_change_says_nothing_changed(client, steward, medline):
    url = reverse("record-edit", args=["supplier", medline.pk])
    # the EIN typed without its hyphen is the same EIN: still nothing changed
    response = login(client, steward).post(url, edit_data(medline, ein="361234567"))
    assert response.status_code == 200 and "Nothing changed" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_edit_on_a_stale_form_keeps_other_peoples_changes(client, steward, approver, medline):
    seen = medline.version
    change_request_approve(propose_rename(medline, steward), actor=approver)  # the name changed meanwhile
    url = reverse("record-edit", args=["supplier", medline.pk])
    client = login(client, steward)
    # my form still has the old name; I only changed the DUNS: the rename is not undone
    response = client.post(url, edit_data(medline, legal_name="Medline Industries, LP", duns="", base_version=seen))
    cr = ChangeRequest.objects.latest("pk")
    assert response.status_code == 302 and cr.changes == {"duns": ""}
    # changing the field someone else changed is a conflict, shown on the field
    response = client.post(url, edit_data(medline, legal_name="Medline LP", base_version=seen))
    html = response.content.decode()
    assert response.status_code == 200 and "Changed by someone else" in html
    medline.refresh_from_db()
    assert f'name="base_version" value="{medline.version}"' in html
    assert ChangeRequest.objects.filter(status="submitted").count() == 1


def test_create_proposes_a_new_record(client, steward, units):
    url = reverse("record-create", args=["item"])
    client = login(client, steward)
    assert 'name="description"' in client.get(url + "?description=Suction+canister").content.decode()
    data = {
        "description": "Suction canister 1500 mL",
        "manufacturer_name": "Medline",
        "item_type": "med_surg",
        "base_unit": "EA",
        "sterile": "true",
        "reason": "new product for the ICU",
    }
    bad = client.post(url, {**data, "base_unit": "PALLET-OF-NOTHING"})
    assert bad.status_code == 200 and re.search(r'data-field="base_unit">.*?errorlist', bad.content.decode(), re.S)
    response = client.post(url, data)
    cr = ChangeRequest.objects.get()
    assert response["Location"] == f"/changes/{cr.pk}/"
    assert cr.kind == "create" and cr.object_id is None
    assert cr.changes["description"] == "Suction canister 1500 mL" and cr.changes["sterile"] is True
    assert "implantable" not in cr.changes  # "unknown" is not proposed as a value


def test_retire_and_unmerge_propose_change_requests(client, steward, approver, make_supplier):
    client = login(client, steward)
    doomed = make_supplier("Acme Surgical (closed)")
    retire = reverse("record-retire", args=["supplier", doomed.pk])
    response = client.post(retire, {"reason": ""}, follow=True)
    assert ChangeRequest.objects.count() == 0 and "Say why" in response.content.decode()
    response = client.post(retire, {"reason": "company closed"})
    cr = ChangeRequest.objects.get()
    assert response["Location"] == f"/changes/{cr.pk}/" and cr.kind == "retire" and cr.reason == "company closed"

    survivor, merged = make_supplier("Medline Industries, LP"), make_supplier("MEDLINE IND LP")
    merge = merge_propose(
        entity_type="supplier", survivor_id=survivor.pk, merged_id=merged.pk, actor=steward, reason="x"
    )
    change_request_approve(merge, actor=approver)
    unmerge = reverse("record-unmerge", args=["supplier", merged.pk])
    response = client.post(unmerge, {"reason": "different legal entities"})
    cr = ChangeRequest.objects.get(kind="unmerge")
    assert response["Location"] == f"/changes/{cr.pk}/" and cr.object_id == merged.pk
    # a record that was never merged: the service's message comes back on the record page
    response = client.post(reverse("record-unmerge", args=["supplier", survivor.pk]), {"reason": "x"}, follow=True)
    assert "nothing to unmerge" in response.content.decode()


# --- search -----------------------------------------------------------------------------------------------------


def test_search_finds_by_name_and_identifier(client, viewer, make_supplier, make_item):
    medline = make_supplier("Medline Industries, LP", ein="36-1234567")
    make_supplier("Cardinal Health")
    item = make_item("Nitrile exam glove, large", part="MDS-195085")
    client = login(client, viewer)
    html = client.get(reverse("search"), {"q": "medline"}).content.decode()
    assert f'href="/records/supplier/{medline.pk}/"' in html and "Cardinal" not in html
    assert 'id="results-item"' in html  # every readable type is searched, grouped
    html = client.get(reverse("search"), {"q": "361234567"}).content.decode()  # the EIN without its hyphen
    assert "Medline Industries, LP" in html and "36-1234567" in html
    html = client.get(reverse("search"), {"q": "mds195085"}).content.decode()  # a part number, punctuated otherwise
    assert f'href="/records/item/{item.pk}/"' in html
    html = client.get(reverse("search"), {"q": "medline", "type": "supplier"}).content.decode()
    assert 'id="results-item"' not in html and 'id="results-supplier"' in html
    assert "Create a new" not in html and "New supplier" not in html  # viewers create nothing


def test_search_status_filter_hides_retired_by_default(client, steward, make_supplier):
    gone = make_supplier("Medline Old Entity")
    gone.status = "retired"
    gone.save()
    client = login(client, steward)
    assert "Medline Old Entity" not in client.get(reverse("search"), {"q": "medline old"}).content.decode()
    html = client.get(reverse("search"), {"q": "medline old", "status": "all"}).content.decode()
    assert "Medline Old Entity" in html and "retired" in html


def test_search_paginates_25_per_page(client, steward, make_supplier, django_assert_max_num_queries):
    for n in range(30):
        make_supplier(f"Acme Medical {n:02d}")
    client = login(client, steward)
    with django_assert_max_num_queries(15):
        html = client.get(reverse("search"), {"q": "acme", "type": "supplier"}).content.decode()
    assert len(re.findall(r'href="/records/supplier/\d+/"', html)) == 25 and "Page 1 of 2" in html
    html = client.get(reverse("search"), {"q": "acme", "type": "supplier", "page": 2}).content.decode()
    assert len(re.findall(r'href="/records/supplier/\d+/"', html)) == 5 and "Acme Medical 29" in html
    html = client.get(reverse("search"), {"q": "acme"}).content.decode()  # all types: a link to the full list
    assert "All 30 suppliers for this search" in html


def test_search_empty_states(client, steward, make_supplier):
    make_supplier("Medline Industries, LP")
    client = login(client, steward)
    html = client.get(reverse("search")).content.decode()
    assert 'id="search-empty"' in html and "Browse all suppliers" in html
    html = client.get(reverse("search"), {"q": "zzyzx", "type": "supplier"}).content.decode()
    assert "No supplier matches" in html
    assert 'href="/records/supplier/new/?legal_name=zzyzx"' in html and "Create a new supplier" in html
    html = client.get(reverse("search"), {"type": "supplier"}).content.decode()  # browsing a type
    assert "Medline Industries, LP" in html


# --- duplicate suggestions ----------------------------------------------------------------------------------------


def test_suggest_returns_a_near_identical_supplier(client, steward, make_supplier):
    medline = make_supplier("Medline Industries, LP", duns="025483210")
    make_supplier("Cardinal Health 200, LLC")
    match_keys_refresh("supplier", Supplier.objects.values_list("pk", flat=True))
    client = login(client, steward)
    url = reverse("record-suggest", args=["supplier"])
    html = client.post(url, {"legal_name": "Medline Industries LP"}, HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/records/supplier/{medline.pk}/"' in html and "%" in html
    assert "Cardinal" not in html
    html = client.post(url, {"legal_name": "Zyxwvut Biologicals"}).content.decode()
    assert "No similar supplier" in html
    html = client.post(url, {"legal_name": ""}).content.decode()
    assert "Type a name" in html
    # without JavaScript: "Check for duplicates" posts the create form and shows the same list, nothing saved
    response = client.post(
        reverse("record-create", args=["supplier"]), {"legal_name": "Medline Industries LP", "check": "1"}
    )
    html = response.content.decode()
    assert f'href="/records/supplier/{medline.pk}/"' in html and "errorlist" not in html
    assert ChangeRequest.objects.count() == 0


def test_suggest_needs_the_change_permission(client, viewer):
    response = login(client, viewer).post(reverse("record-suggest", args=["supplier"]), {"legal_name": "x"})
    assert response.status_code == 403


def test_layout_has_navigation_search_and_htmx(client, steward):
    html = login(client, steward).get(reverse("search")).content.decode()
    for link in ("/review/", "/changes/", "/search/?type=supplier", "/search/?type=item"):
        assert f'href="{link}"' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html and "htmx" in html and "Log out" in html
