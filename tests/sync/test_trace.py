"""The trace page and API: source record -> match -> change request -> golden version -> outbox -> Odoo.

The chain is built for real: payloads ingested from two source systems, matched (a new golden supplier, the second
record linked or proposed), a change request proposed over the API with an ``X-Request-ID`` and approved by
someone else, then delivered to the Odoo test server. The trace must show every stage with the right ids, down to
the external id and record id Odoo holds.
"""

import pytest
from rest_framework.test import APIClient

from mdm import roles
from mdm.models import ChangeRequest, Crosswalk, SourceRecord, SourceSystem
from mdm.services.ingest import source_records_ingest
from mdm.services.matching import match_source_records
from suppliers.models import Supplier
from sync.models import Delivery, KeyMap, OutboxEvent
from sync.trace import TraceQueryError, parse
from tests.conftest import _user
from tests.sync.records import drain, odoo_target

pytestmark = pytest.mark.django_db

API = "/api/v1/trace/"
PAGE = "/trace/"
CORRELATION = "cr-trace-0001"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def operations(db):
    return _user("otto.operations", roles.OPERATIONS)


@pytest.fixture
def chain(steward, approver, odoo_server, django_capture_on_commit_callbacks):
    """Ingest -> match (new golden) -> change request (API, X-Request-ID) -> approved -> delivered to Odoo."""
    erp = SourceSystem.objects.create(name="erp", kind="odoo", trust_rank=1)
    portal = SourceSystem.objects.create(name="supplier-portal", kind="api", trust_rank=30)
    payload = {"legal_name": "Medline Industries, LP", "duns": "025483210", "ein": "36-1234567"}
    source_records_ingest(
        system=erp, entity_type="supplier", records=[{"external_id": "V-100", "payload": payload}], match=False
    )
    first = SourceRecord.objects.get(system=erp, external_id="V-100")
    with django_capture_on_commit_callbacks(execute=True):  # the new record's blocking keys are written on commit
        match_source_records("supplier", source_record_ids=[first.pk], actor=steward)
    supplier = Supplier.objects.get(pk=Crosswalk.objects.get(pk=first.crosswalk_id).golden_id)
    source_records_ingest(
        system=portal,
        entity_type="supplier",
        records=[{"external_id": "P-7", "payload": {"legal_name": "MEDLINE INDUSTRIES LP", "duns": "025483210"}}],
        match=False,
    )
    second = SourceRecord.objects.get(system=portal, external_id="P-7")
    match_source_records("supplier", source_record_ids=[second.pk], actor=steward)

    target = odoo_target(odoo_server, entity_types=("supplier",))
    response = client_for(steward).post(
        "/api/v1/change-requests/",
        {
            "entity_type": "supplier",
            "kind": "update",
            "object_id": supplier.pk,
            "changes": {"legal_name": "Medline Industries, L.P."},
            "reason": "legal name per W-9",
        },
        format="json",
        HTTP_X_REQUEST_ID=CORRELATION,
    )
    assert response.status_code == 201, response.json()
    assert response["X-Request-ID"] == CORRELATION
    number = response.json()["id"]
    approved = client_for(approver).post(f"/api/v1/change-requests/{number}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    drain(target)
    supplier.refresh_from_db()
    return {
        "supplier": supplier,
        "first": first,
        "second": second,
        "cr": ChangeRequest.objects.get(pk=number),
        "target": target,
        "srv": odoo_server,
    }


def stage(subject, name):
    return subject[name]["items"]


def test_the_api_shows_every_stage_with_the_right_ids(chain, operations, django_assert_max_num_queries):
    supplier, cr, target, srv = chain["supplier"], chain["cr"], chain["target"], chain["srv"]
    with django_assert_max_num_queries(40):
        response = client_for(operations).get(API, {"golden": f"supplier:{supplier.pk}"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["found"] is True and body["notes"] == []
    (subject,) = body["subjects"]
    assert (subject["entity_type"], subject["object_id"], subject["version"]) == (
        "supplier",
        supplier.pk,
        supplier.version,
    )

    sources = {(row["system"], row["external_id"]): row for row in stage(subject, "sources")}
    assert set(sources) == {("erp", "V-100"), ("supplier-portal", "P-7")}
    assert sources[("erp", "V-100")]["id"] == chain["first"].pk
    assert sources[("erp", "V-100")]["batch_id"] == chain["first"].batch_id

    matches = stage(subject, "matches")
    created = [m for m in matches if m["kind"] == "link" and m["candidate"] == "erp:V-100"]
    assert created and created[0]["outcome"].startswith("Golden record created")
    assert created[0]["decided_by"] == "sam.steward"
    # the portal's record: linked automatically (with its score) or proposed for review, either way on the chain
    portal = [m for m in matches if m["candidate"] in ("supplier-portal:P-7", f"c:{chain['second'].crosswalk_id}")]
    assert portal and portal[0]["score"] is not None

    (change,) = stage(subject, "change_requests")
    assert change["number"] == cr.pk and change["kind"] == "update" and change["status"] == "applied"
    assert change["requested_by"] == "sam.steward" and change["approvers"] == ["alex.approver"]
    assert change["correlation_id"] == CORRELATION and change["applied_version"] == supplier.version

    versions = stage(subject, "versions")
    assert versions[0]["version"] == supplier.version
    assert f"change request #{cr.pk}" in versions[0]["reason"] and versions[0]["by"] == "sam.steward"
    assert {v["version"] for v in versions} >= {1, supplier.version}

    events = stage(subject, "events")
    applied = [e for e in events if e["change_request"] == cr.pk]
    assert applied and {e["correlation_id"] for e in applied} == {CORRELATION}
    assert str(OutboxEvent.objects.filter(change_request_id=cr.pk).latest("id").event_id) == applied[0]["event_id"]

    key = KeyMap.objects.get(target=target, entity_type="supplier", object_id=supplier.pk)
    partner = srv.by_xmlid(key.external_id)
    assert key.external_id == f"__mdm__.supplier_{supplier.pk}" and partner["name"] == "Medline Industries, L.P."
    deliveries = stage(subject, "deliveries")
    newest = deliveries[0]
    assert newest["status"] == "delivered" and newest["version"] == supplier.version
    assert newest["correlation_id"] == CORRELATION and newest["target"] == target.name
    assert newest["external_id"] == key.external_id and newest["target_ref"] == str(partner["id"])
    (held,) = stage(subject, "keys")
    assert (held["external_id"], held["target_ref"], held["last_version"]) == (
        key.external_id,
        str(partner["id"]),
        supplier.version,
    )


def test_a_correlation_id_narrows_the_chain_to_its_change(chain, operations):
    supplier, cr = chain["supplier"], chain["cr"]
    body = client_for(operations).get(API, {"correlation_id": CORRELATION}).json()
    (subject,) = body["subjects"]
    assert subject["object_id"] == supplier.pk
    assert [c["number"] for c in stage(subject, "change_requests")] == [cr.pk]
    assert {e["correlation_id"] for e in stage(subject, "events")} == {CORRELATION}
    assert {d["correlation_id"] for d in stage(subject, "deliveries")} == {CORRELATION}
    assert [v["version"] for v in stage(subject, "versions")] == [supplier.version]  # the version this change wrote
    # the record's own sources stay on the chain: where it came from
    assert len(stage(subject, "sources")) == 2


def test_by_change_request_number_and_by_source_record(chain, operations):
    cr, supplier = chain["cr"], chain["supplier"]
    for value in (str(cr.pk), f"CR-{cr.pk}"):
        body = client_for(operations).get(API, {"change_request": value}).json()
        assert body["change_request"]["number"] == cr.pk
        assert body["change_request"]["approvers"] == ["alex.approver"]
        assert [s["object_id"] for s in body["subjects"]] == [supplier.pk]
        assert {e["change_request"] for e in stage(body["subjects"][0], "events")} == {cr.pk}
    body = client_for(operations).get(API, {"source_record": chain["first"].pk}).json()
    assert body["source_record"]["external_id"] == "V-100" and body["source_record"]["golden_id"] == supplier.pk
    assert [s["object_id"] for s in body["subjects"]] == [supplier.pk]
    # q= takes whatever the page's search box takes
    body = client_for(operations).get(API, {"q": f"supplier {supplier.pk}"}).json()
    assert body["query"] == {"kind": "golden", "value": f"supplier:{supplier.pk}"}


def test_the_page_shows_the_timeline_and_links_back(chain, operations, client):
    supplier, cr, target = chain["supplier"], chain["cr"], chain["target"]
    client.force_login(operations)
    response = client.get(PAGE, {"q": f"supplier:{supplier.pk}"})
    assert response.status_code == 200
    html = response.content.decode()
    key = KeyMap.objects.get(target=target, entity_type="supplier", object_id=supplier.pk)
    for expected in ("V-100", "P-7", f"/changes/{cr.pk}/", CORRELATION, key.external_id, key.target_ref):
        assert expected in html, expected
    assert "style=" not in html and "<script>" not in html
    delivery = Delivery.objects.filter(target=target, status="delivered").latest("id")
    detail = client.get(f"/operations/deliveries/{delivery.pk}/").content.decode()
    assert f"/trace/?q=supplier:{supplier.pk}" in detail
    record = client.get(f"/records/supplier/{supplier.pk}/").content.decode()
    assert f"/trace/?q=supplier:{supplier.pk}" in record


def test_viewers_see_the_record_part_and_a_note_for_the_deliveries(chain, viewer, client):
    supplier = chain["supplier"]
    body = client_for(viewer).get(API, {"golden": f"supplier:{supplier.pk}"}).json()
    (subject,) = body["subjects"]
    assert len(stage(subject, "change_requests")) == 1 and len(stage(subject, "sources")) == 2
    for name in ("events", "deliveries", "keys"):
        assert subject[name]["items"] == [] and "sync.view_delivery" in subject[name]["hidden"]
    client.force_login(viewer)
    html = client.get(PAGE, {"q": f"supplier:{supplier.pk}"}).content.decode()
    assert "sync.view_delivery" in html and "__mdm__" not in html


def test_who_may_trace(chain, outsider, client, anon_api):
    supplier = chain["supplier"]
    assert client_for(outsider).get(API, {"golden": f"supplier:{supplier.pk}"}).status_code == 403
    assert anon_api.get(API, {"golden": f"supplier:{supplier.pk}"}).status_code in (401, 403)
    client.force_login(outsider)
    response = client.get(PAGE, {"q": f"supplier:{supplier.pk}"})
    assert response.status_code == 403 and b"Tracing needs read access" in response.content
    client.logout()
    assert client.get(PAGE).status_code == 302  # to the login page


def test_a_role_without_the_entity_type_gets_a_note_not_the_record(db, operations, make_item, odoo_server):
    from django.contrib.auth.models import Permission

    item = make_item("Exam glove nitrile")
    operations.groups.first().permissions.remove(Permission.objects.get(codename="view_item"))
    operations = type(operations).objects.get(pk=operations.pk)  # fresh permission cache
    body = client_for(operations).get(API, {"golden": f"item:{item.pk}"}).json()
    assert body["subjects"] == [] and body["found"] is False
    assert body["notes"] == ["1 item record left out: your role may not read item records."]


def test_unknown_ids_give_a_helpful_empty_state(operations, client):
    api = client_for(operations)
    body = api.get(API, {"golden": "supplier:999999"}).json()
    assert body["found"] is False and body["notes"] == ["There is no supplier #999999."]
    body = api.get(API, {"correlation_id": "nobody-sent-this"}).json()
    assert body["found"] is False and "No change request, outbox event or delivery" in body["notes"][0]
    assert api.get(API, {"change_request": "CR-424242"}).json()["notes"] == ["There is no change request #424242."]
    assert api.get(API, {"source_record": 424242}).json()["notes"] == ["There is no source record #424242."]
    client.force_login(operations)
    html = client.get(PAGE, {"q": "supplier:999999"}).content.decode()
    assert 'id="trace-empty"' in html and "There is no supplier #999999." in html


def test_bad_queries_are_400_with_what_is_accepted(operations, client):
    api = client_for(operations)
    response = api.get(API, {"golden": "planet:3"})
    assert response.status_code == 400 and "entity types" in response.json()["errors"]["golden"][0]
    response = api.get(API)
    assert response.status_code == 400 and "exactly one of golden" in response.json()["errors"]["non_field_errors"][0]
    assert api.get(API, {"golden": "supplier:1", "change_request": "1"}).status_code == 400
    assert api.get(API, {"correlation_id": "has spaces in it"}).status_code == 400
    assert api.get(API, {"golden": "supplier:1", "limit": 0}).status_code == 400
    client.force_login(operations)
    html = client.get(PAGE, {"q": "what is this?"}).content.decode()
    assert 'id="trace-error"' in html and "correlation id" in html


def test_each_stage_is_bounded_and_says_how_many_more(chain, operations):
    supplier = chain["supplier"]
    body = client_for(operations).get(API, {"golden": f"supplier:{supplier.pk}", "limit": 1}).json()
    (subject,) = body["subjects"]
    assert len(stage(subject, "sources")) == 1 and subject["sources"]["more"] == 1
    versions = supplier.history.count()
    assert len(stage(subject, "versions")) == 1 and subject["versions"]["more"] == versions - 1


def test_the_search_box_understands_each_kind():
    assert (parse("supplier:12").kind, parse("supplier:12").object_id) == ("golden", 12)
    assert (parse("item 42").entity_type, parse("item 42").object_id) == ("item", 42)
    assert (parse("CR-17").kind, parse("CR-17").object_id) == ("change_request", 17)
    assert (parse("17").kind, parse("#17").object_id) == ("change_request", 17)
    assert (parse("source:5").kind, parse("source:5").object_id) == ("source_record", 5)
    assert parse("trace-me-123").kind == "correlation"
    assert parse("3f2a9c0e4b1d4e8f9a7b6c5d4e3f2a1b").kind == "correlation"
    with pytest.raises(TraceQueryError):
        parse("what is this?")
    with pytest.raises(TraceQueryError):
        parse("")
