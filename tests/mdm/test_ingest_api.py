"""POST /api/v1/source-records/: idempotent, versioned, per-record outcomes, nothing half-written."""

import pytest
from django.test import override_settings

from mdm.models import Crosswalk, IngestBatch, QuarantinedRecord, SourceRecord
from uom.models import Unit

URL = "/api/v1/source-records/"


def unit_payload(code="BX", name="Box", **extra):
    return {"code": code, "name": name, "dimension": "count", **extra}


def batch(system="odoo-prod", entity_type="unit", records=None):
    return {"system": system, "entity_type": entity_type, "records": records or []}


def counts():
    return (SourceRecord.objects.count(), QuarantinedRecord.objects.count(), Crosswalk.objects.count())


@pytest.mark.django_db
class TestIngest:
    def test_stores_new_records_with_version_one(self, api, odoo):
        body = batch(
            records=[
                {"external_id": "uom.1", "payload": unit_payload()},
                {"external_id": "uom.2", "payload": unit_payload("CS", "Case")},
            ]
        )
        response = api.post(URL, body, format="json")
        assert response.status_code == 200, response.content
        data = response.json()
        assert [r["outcome"] for r in data["results"]] == ["stored", "stored"]
        assert [r["version"] for r in data["results"]] == [1, 1]
        assert data["batch"]["stored"] == 2
        record = SourceRecord.objects.get(external_id="uom.1")
        assert record.payload == unit_payload()
        assert record.standardized["code"] == "BX"
        assert len(record.payload_hash) == 64

    def test_same_batch_twice_creates_nothing_new(self, api, odoo):
        body = batch(records=[{"external_id": "uom.1", "payload": unit_payload()}])
        api.post(URL, body, format="json")
        before = counts()
        response = api.post(URL, body, format="json")
        assert response.json()["results"][0]["outcome"] == "unchanged"
        assert counts() == before

    def test_key_order_does_not_change_the_hash(self, api, odoo):
        api.post(
            URL,
            batch(records=[{"external_id": "u", "payload": {"code": "BX", "name": "Box", "dimension": "count"}}]),
            format="json",
        )
        response = api.post(
            URL,
            batch(records=[{"external_id": "u", "payload": {"dimension": "count", "name": "Box", "code": "BX"}}]),
            format="json",
        )
        assert response.json()["results"][0]["outcome"] == "unchanged"

    def test_changed_payload_is_a_new_version_and_keeps_the_old(self, api, odoo):
        api.post(URL, batch(records=[{"external_id": "uom.1", "payload": unit_payload(name="Box")}]), format="json")
        response = api.post(
            URL, batch(records=[{"external_id": "uom.1", "payload": unit_payload(name="Box of 100")}]), format="json"
        )
        result = response.json()["results"][0]
        assert result["outcome"] == "stored" and result["version"] == 2
        versions = SourceRecord.objects.filter(external_id="uom.1").order_by("version")
        assert [(v.version, v.is_current, v.payload["name"]) for v in versions] == [
            (1, False, "Box"),
            (2, True, "Box of 100"),
        ]
        assert Crosswalk.objects.filter(external_id="uom.1").count() == 1

    def test_invalid_record_is_rejected_with_field_reasons_and_quarantined(self, api, odoo):
        body = batch(
            records=[
                {"external_id": "ok", "payload": unit_payload()},
                {"external_id": "bad", "payload": {"code": "XX", "dimension": "weight"}},
            ]
        )
        response = api.post(URL, body, format="json")
        assert response.status_code == 200
        ok, bad = response.json()["results"]
        assert ok["outcome"] == "stored"
        assert bad["outcome"] == "rejected"
        assert set(bad["errors"]) == {"name", "dimension"}
        assert "not a valid choice" in bad["errors"]["dimension"][0]
        quarantined = QuarantinedRecord.objects.get(external_id="bad")
        assert quarantined.errors == bad["errors"] and quarantined.status == "open"
        assert not SourceRecord.objects.filter(external_id="bad").exists()
        # Sending the same bad payload again does not pile up quarantine rows.
        api.post(URL, body, format="json")
        assert QuarantinedRecord.objects.filter(external_id="bad").count() == 1

    def test_fixed_payload_supersedes_the_quarantined_one(self, api, odoo):
        api.post(URL, batch(records=[{"external_id": "x", "payload": {"code": "BX"}}]), format="json")
        api.post(URL, batch(records=[{"external_id": "x", "payload": unit_payload()}]), format="json")
        assert QuarantinedRecord.objects.get(external_id="x").status == "superseded"

    def test_token_authenticated_service_account_can_ingest(self, token_api, odoo):
        response = token_api.post(URL, batch(records=[{"external_id": "1", "payload": unit_payload()}]), format="json")
        assert response.status_code == 200
        assert IngestBatch.objects.get().actor.username == "svc.odoo"


@pytest.mark.django_db
class TestIngestBadBatches:
    """Each is refused as a whole, names the field, and writes nothing."""

    def assert_nothing_written(self):
        assert counts() == (0, 0, 0)
        assert IngestBatch.objects.count() == 0
        assert Unit.objects.count() == 0

    def test_same_external_id_twice(self, api, odoo):
        body = batch(
            records=[
                {"external_id": "dup", "payload": unit_payload()},
                {"external_id": "dup", "payload": unit_payload("CS", "Case")},
            ]
        )
        response = api.post(URL, body, format="json")
        assert response.status_code == 400
        message = response.json()["errors"]["records"]["1"]["external_id"][0]
        assert "appears twice" in message and "records 0 and 1" in message
        self.assert_nothing_written()

    @override_settings(INGEST_MAX_BATCH=3)
    def test_batch_over_the_limit_is_413(self, api, odoo):
        body = batch(records=[{"external_id": str(i), "payload": unit_payload()} for i in range(4)])
        response = api.post(URL, body, format="json")
        assert response.status_code == 413
        assert "at most 3 records" in response.json()["errors"]["records"][0]
        self.assert_nothing_written()

    def test_default_limit_is_one_thousand(self, api, odoo):
        body = batch(records=[{"external_id": str(i), "payload": unit_payload()} for i in range(1001)])
        assert api.post(URL, body, format="json").status_code == 413
        self.assert_nothing_written()

    def test_malformed_json_is_400(self, api, odoo):
        response = api.post(URL, data='{"system": "odoo-prod", "records": [', content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"
        assert "JSON parse error" in response.json()["detail"]
        self.assert_nothing_written()

    def test_unknown_entity_type(self, api, odoo):
        response = api.post(
            URL, batch(entity_type="widget", records=[{"external_id": "1", "payload": {}}]), format="json"
        )
        assert response.status_code == 400
        message = response.json()["errors"]["entity_type"][0]
        assert "Unknown entity type 'widget'" in message and "unit" in message
        self.assert_nothing_written()

    def test_unknown_source_system(self, api, odoo):
        response = api.post(
            URL, batch(system="nope", records=[{"external_id": "1", "payload": unit_payload()}]), format="json"
        )
        assert response.status_code == 400
        assert "errors" in response.json() and "system" in response.json()["errors"]
        self.assert_nothing_written()

    def test_record_without_external_id_or_payload(self, api, odoo):
        response = api.post(
            URL, batch(records=[{"payload": unit_payload()}, {"external_id": "2", "payload": "x"}]), format="json"
        )
        assert response.status_code == 400
        errors = response.json()["errors"]["records"]
        assert "external_id" in errors["0"] and "payload" in errors["1"]
        self.assert_nothing_written()

    def test_server_error_mid_batch_leaves_nothing(self, api, odoo, monkeypatch):
        from mdm.models import SourceRecord as SR

        def explode(*args, **kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(SR.objects, "bulk_create", explode)
        api.raise_request_exception = False
        body = batch(
            records=[{"external_id": "1", "payload": unit_payload()}, {"external_id": "2", "payload": {"code": "bad"}}]
        )
        response = api.post(URL, body, format="json")
        assert response.status_code == 500
        assert "nothing was written" in response.json()["detail"]
        self.assert_nothing_written()


@pytest.mark.django_db
class TestIngestPermissions:
    def test_anonymous_is_refused(self, anon_api, odoo):
        assert anon_api.post(
            URL, batch(records=[{"external_id": "1", "payload": unit_payload()}]), format="json"
        ).status_code in (401, 403)

    def test_viewer_cannot_ingest(self, viewer, odoo):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(viewer)
        response = client.post(URL, batch(records=[{"external_id": "1", "payload": unit_payload()}]), format="json")
        assert response.status_code == 403
        assert counts() == (0, 0, 0)

    def test_outsider_cannot_read_source_records(self, outsider):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(outsider)
        assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_source_records_list_filters_and_shows_crosswalk(api, odoo, catalog):
    api.post(URL, batch(records=[{"external_id": "a", "payload": unit_payload()}]), format="json")
    api.post(
        URL,
        batch(system="distributor-catalog", records=[{"external_id": "b", "payload": unit_payload("CS", "Case")}]),
        format="json",
    )
    response = api.get(URL, {"system": "distributor-catalog"})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    assert data["results"][0]["external_id"] == "b"
    assert data["results"][0]["crosswalk"]["golden_id"] is None
