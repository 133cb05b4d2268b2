"""Survivorship: values survive from linked sources by rule, with lineage; pins win; trusted low-risk auto-applies."""

import pytest

from mdm.choices import LinkMethod
from mdm.models import ChangeRequest, DecisionLog, GoldenLineage, PinnedValue, SourceRecord
from mdm.services.golden import crosswalk_link, golden_create_from_source
from mdm.services.ingest import source_records_ingest
from mdm.services.survivorship import survivorship_compute, survivorship_refresh
from suppliers.models import Supplier

pytestmark = pytest.mark.django_db


def ingest(system, entity_type, external_id, payload, actor):
    source_records_ingest(
        system=system,
        entity_type=entity_type,
        records=[{"external_id": external_id, "payload": payload}],
        actor=actor,
        match=False,
    )
    return SourceRecord.objects.get(system=system, external_id=external_id, is_current=True)


@pytest.fixture
def golden_supplier(odoo, steward, django_capture_on_commit_callbacks):
    record = ingest(odoo, "supplier", "V1", {"legal_name": "Medline Industries, LP", "ein": "36-1234567"}, steward)
    with django_capture_on_commit_callbacks(execute=True):
        return golden_create_from_source(record, actor=steward)


def test_a_golden_record_made_from_a_source_knows_where_each_value_came_from(golden_supplier):
    lineage = GoldenLineage.objects.get(entity_type="supplier", object_id=golden_supplier.pk).fields
    assert lineage["legal_name"]["system"] == "odoo-prod" and lineage["legal_name"]["rule"] == "created from source"
    assert lineage["ein"]["source"] == "odoo-prod:V1"


def test_linking_a_less_trusted_source_fills_gaps_but_does_not_override(
    golden_supplier, catalog, steward, approver, django_capture_on_commit_callbacks
):
    record = ingest(
        catalog, "supplier", "C-7", {"legal_name": "MEDLINE IND", "duns": "025483210", "ein": "36-1234567"}, steward
    )
    with django_capture_on_commit_callbacks(execute=True):
        crosswalk_link(record.crosswalk, golden_id=golden_supplier.pk, method=LinkMethod.STEWARD, actor=steward)
    cr = ChangeRequest.objects.get(origin="survivorship")
    assert cr.changes == {"duns": "025483210"}  # the name stays Odoo's (trust), the DUNS fills a gap
    assert cr.status == "submitted" and cr.requested_by is None and cr.source_record == record
    assert cr.evidence["lineage"]["duns"]["system"] == "distributor-catalog"
    from mdm.services.changes import change_request_approve

    change_request_approve(cr, actor=approver)
    golden_supplier.refresh_from_db()
    assert golden_supplier.duns == "025483210"
    lineage = GoldenLineage.objects.get(entity_type="supplier", object_id=golden_supplier.pk).fields
    assert lineage["duns"]["system"] == "distributor-catalog" and lineage["legal_name"]["system"] == "odoo-prod"


def test_most_trusted_source_wins_and_a_pin_beats_it(golden_supplier, catalog, steward):
    record = ingest(catalog, "supplier", "C-7", {"legal_name": "Medline Industries (catalog)"}, steward)
    record.crosswalk.golden_id = golden_supplier.pk
    record.crosswalk.save()
    assert survivorship_compute("supplier", golden_supplier.pk).values["legal_name"] == "Medline Industries, LP"
    PinnedValue.objects.create(
        entity_type="supplier", object_id=golden_supplier.pk, field="legal_name", value="Medline", pinned_by=steward
    )
    survived = survivorship_compute("supplier", golden_supplier.pk)
    assert survived.values["legal_name"] == "Medline" and survived.lineage["legal_name"]["rule"] == "pinned"
    # a pinned value is never proposed by survivorship
    assert survivorship_refresh("supplier", golden_supplier.pk) is None


def test_trusted_low_risk_changes_apply_by_policy_and_say_so(odoo, steward, django_capture_on_commit_callbacks):
    from uom.services import unit_create

    unit_create(code="EA", name="Each", dimension="count", actor=steward, reason="t")
    payload = {"description": "Trach tube", "item_type": "med_surg", "base_unit": "EA", "manufacturer": "PULMODYNE"}
    record = ingest(odoo, "item", "P-1", payload, steward)
    with django_capture_on_commit_callbacks(execute=True):
        item = golden_create_from_source(record, actor=steward)
    ingest(odoo, "item", "P-1", {**payload, "description": "Blom tracheostomy tube, basic, single-use"}, steward)
    cr = survivorship_refresh("item", item.pk)
    item.refresh_from_db()
    assert cr.auto_approved and cr.status == "applied" and cr.risk == "low"
    assert item.description == "Blom tracheostomy tube, basic, single-use"
    assert DecisionLog.objects.get(change_request=cr).action == "auto_applied"
    assert "auto-approved" in item.history.first().history_change_reason


def test_a_new_version_of_a_linked_source_proposes_the_change_after_ingest(
    golden_supplier, odoo, steward, settings, django_capture_on_commit_callbacks
):
    from mdm.celery import app

    settings.MDM_SURVIVORSHIP_ON_INGEST = True
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest(odoo, "supplier", "V1", {"legal_name": "Medline Industries, LP", "ein": "36-7654321"}, steward)
    finally:
        app.conf.task_always_eager = False
    cr = ChangeRequest.objects.get(origin="survivorship", object_id=golden_supplier.pk)
    assert cr.changes == {"ein": "36-7654321"} and cr.required_approvals == 2  # a tax id: two approvers
    assert Supplier.objects.get(pk=golden_supplier.pk).ein == "36-1234567"
