"""Merge and unmerge as change requests: links, references and packaging move, and come back exactly."""

import datetime

import pytest

from contracts.models import ContractPrice
from items.models import Item, ItemPackagingLevel
from mdm.models import ChangeRequest, Crosswalk, MatchCandidate, MatchDecision, MergeRecord, SourceSystem
from mdm.services.changes import (
    ChangeError,
    change_request_approve,
    change_request_reject,
    merge_propose,
    unmerge_propose,
)
from mdm.services.golden import golden_save

pytestmark = pytest.mark.django_db

GTIN_EACH, GTIN_BOX = "00841470100667", "10841470100664"


def link(system, external_id, golden):
    return Crosswalk.objects.create(
        system=system, entity_type="item", external_id=external_id, golden_id=golden.pk, link_method="created"
    )


def approve_merge(survivor, merged, steward, approver, **extra):
    cr = merge_propose(
        entity_type="item",
        survivor_id=survivor.pk,
        merged_id=merged.pk,
        actor=steward,
        reason="same trach tube",
        **extra,
    )
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    assert cr.status == ChangeRequest.Status.APPLIED, cr.status
    return cr


def approve_unmerge(merged, steward, approver):
    cr = unmerge_propose(entity_type="item", merged_id=merged.pk, actor=steward, reason="different sizes")
    change_request_approve(cr, actor=approver)
    cr.refresh_from_db()
    assert cr.status == ChangeRequest.Status.APPLIED
    return cr


@pytest.fixture
def systems(db):
    return {
        name: SourceSystem.objects.create(name=name, kind="file", trust_rank=rank)
        for name, rank in (("odoo-prod", 1), ("distributor", 20), ("gpo", 10))
    }


def state(*items):
    """Everything a merge touches, to compare before and after."""
    ids = [item.pk for item in items]
    return {
        "items": {i.pk: i.status for i in Item.objects.filter(pk__in=ids)},
        "links": dict(Crosswalk.objects.filter(entity_type="item").values_list("external_id", "golden_id")),
        "prices": dict(ContractPrice.objects.values_list("pk", "item_id")),
        "price_status": dict(ContractPrice.objects.values_list("pk", "status")),
        "gtins": sorted(ItemPackagingLevel.objects.exclude(gtin="").values_list("item_id", "level", "gtin")),
    }


def test_merge_moves_links_prices_and_packaging_then_unmerge_restores_exactly(
    make_item, systems, price, steward, approver
):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube, basic", gtins=(GTIN_EACH, GTIN_BOX, ""), part="313-71-015X")
    link(systems["odoo-prod"], "P-1", survivor)
    link(systems["distributor"], "D-9", merged)
    moved_price = price(merged, "12.00")
    before = state(survivor, merged)

    cr = approve_merge(survivor, merged, steward, approver)
    after = state(survivor, merged)
    assert after["items"] == {survivor.pk: "active", merged.pk: "retired"}
    assert after["links"] == {"P-1": survivor.pk, "D-9": survivor.pk}
    assert after["prices"][moved_price.pk] == survivor.pk
    assert after["gtins"] == [(survivor.pk, 0, GTIN_EACH), (survivor.pk, 1, GTIN_BOX)]
    assert Crosswalk.objects.get(external_id="D-9").link_method == "merge"
    record = MergeRecord.objects.get(change_request=cr)
    assert (record.survivor_id, record.merged_id) == (survivor.pk, merged.pk)
    assert Item.objects.filter(pk=merged.pk).exists()  # retired, never deleted

    approve_unmerge(merged, steward, approver)
    assert state(survivor, merged) == before
    assert Crosswalk.objects.get(external_id="D-9").link_method == "created"
    # never proposed as duplicates again
    assert MatchDecision.objects.get(left_ref=f"g:{survivor.pk}", right_ref=f"g:{merged.pk}").is_match is False
    with pytest.raises(ChangeError, match="nothing to unmerge"):
        unmerge_propose(entity_type="item", merged_id=merged.pk, actor=steward, reason="again")


def test_unmerge_after_a_later_merge_restores_the_first_record(make_item, systems, price, steward, approver):
    """A into B, then B into C, then unmerge A: A gets its own links and prices back; B stays in C."""
    a = make_item("Trach tube A", part="A-1")
    b = make_item("Trach tube B", part="B-1")
    c = make_item("Trach tube C", part="C-1")
    link(systems["distributor"], "A", a)
    link(systems["gpo"], "B", b)
    link(systems["odoo-prod"], "C", c)
    price_a = price(a, "11.00", unit="BX")
    price_b = price(b, "12.00", unit="CS")

    approve_merge(b, a, steward, approver)
    approve_merge(c, b, steward, approver)
    links = dict(Crosswalk.objects.values_list("external_id", "golden_id"))
    assert links == {"A": c.pk, "B": c.pk, "C": c.pk}
    assert dict(ContractPrice.objects.values_list("pk", "item_id")) == {price_a.pk: c.pk, price_b.pk: c.pk}

    approve_unmerge(a, steward, approver)
    assert dict(Crosswalk.objects.values_list("external_id", "golden_id")) == {"A": a.pk, "B": c.pk, "C": c.pk}
    assert dict(ContractPrice.objects.values_list("pk", "item_id")) == {price_a.pk: a.pk, price_b.pk: c.pk}
    assert dict(Item.objects.values_list("pk", "status")) == {a.pk: "active", b.pk: "retired", c.pk: "active"}

    # and B can still come out of C, with only its own rows
    approve_unmerge(b, steward, approver)
    assert dict(Crosswalk.objects.values_list("external_id", "golden_id")) == {"A": a.pk, "B": b.pk, "C": c.pk}
    assert dict(ContractPrice.objects.values_list("pk", "item_id")) == {price_a.pk: a.pk, price_b.pk: b.pk}


def test_a_duplicate_price_is_retired_not_doubled_and_comes_back(make_item, price, steward, approver):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube", part="X-2")
    kept = price(survivor, "10.00")
    twin = price(merged, "10.50")  # same contract, unit and dates
    approve_merge(survivor, merged, steward, approver)
    twin.refresh_from_db()
    assert (twin.item_id, twin.status) == (merged.pk, "retired")
    assert ContractPrice.objects.filter(item=survivor, status="active").get() == kept
    approve_unmerge(merged, steward, approver)
    twin.refresh_from_db()
    assert (twin.item_id, twin.status) == (merged.pk, "active")


def test_a_value_changed_after_the_merge_is_kept_and_reported(make_item, systems, steward, approver):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube", part="X-3")
    xw = link(systems["distributor"], "D-1", merged)
    approve_merge(survivor, merged, steward, approver)
    # a steward later moves the link elsewhere: the unmerge must not take it back
    other = make_item("Another tube", part="O-1")
    xw.refresh_from_db()
    xw.golden_id = other.pk
    xw.save()
    cr = approve_unmerge(merged, steward, approver)
    assert Crosswalk.objects.get(pk=xw.pk).golden_id == other.pk
    assert cr.evidence["skipped"][0]["model"] == "mdm.Crosswalk"


def test_merge_from_a_match_proposal_keeps_the_evidence_and_a_rejection_reopens_it(make_item, steward, approver):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube", part="X-4")
    candidate = MatchCandidate.objects.create(
        entity_type="item",
        kind=MatchCandidate.Kind.DUPLICATE,
        left_ref=f"g:{survivor.pk}",
        right_ref=f"g:{merged.pk}",
        right_golden_id=merged.pk,
        probability=0.97,
        match_weight=5.0,
        band="match",
        explanation={"probability": 0.97, "fields": [{"field": "description", "weight": 4.2}]},
    )
    cr = merge_propose(
        entity_type="item",
        survivor_id=survivor.pk,
        merged_id=merged.pk,
        actor=steward,
        reason="same",
        candidate=candidate,
    )
    candidate.refresh_from_db()
    assert candidate.status == "confirmed" and cr.origin == "match"
    assert cr.evidence["probability"] == 0.97 and cr.evidence["explanation"]["fields"][0]["weight"] == 4.2
    with pytest.raises(ChangeError, match="already proposes a merge"):
        merge_propose(entity_type="item", survivor_id=merged.pk, merged_id=survivor.pk, actor=steward, reason="x")
    change_request_reject(cr, actor=approver, reason="different sizes")
    candidate.refresh_from_db()
    assert candidate.status == "open"


def test_merge_is_refused_when_a_record_changed_since(make_item, steward, approver):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube", part="X-5")
    cr = merge_propose(entity_type="item", survivor_id=survivor.pk, merged_id=merged.pk, actor=steward, reason="x")
    merged.short_name = "changed meanwhile"
    golden_save(merged, actor=steward, reason="edit")
    from mdm.services.changes import StaleBaseError, change_request_rebase

    with pytest.raises(StaleBaseError, match="record to merge"):
        change_request_approve(cr, actor=approver)
    change_request_rebase(cr, actor=steward)
    change_request_approve(cr, actor=approver)
    assert Item.objects.get(pk=merged.pk).status == "retired"


def test_as_of_before_the_merge_shows_the_record_active(make_item, steward, approver):
    survivor = make_item("Blom tracheostomy tube")
    merged = make_item("Blom trach tube", part="X-6")
    before = datetime.datetime.now(tz=datetime.UTC)
    approve_merge(survivor, merged, steward, approver)
    assert Item.history.as_of(before).get(pk=merged.pk).status == "active"
    assert Item.objects.get(pk=merged.pk).status == "retired"
