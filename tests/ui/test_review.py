"""The review inbox and the side-by-side compare: ordering, filters, pagination, decisions. Real database."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdm.models import ChangeRequest, Crosswalk, MatchCandidate, SourceRecord
from mdm.services import matching
from mdm.services.golden import golden_create_from_source
from mdm.services.ingest import source_records_ingest
from suppliers.services import supplier_create

pytestmark = pytest.mark.django_db

NAMES = [
    ("Medline Industries, LP", "025483210"),
    ("Cardinal Health, Inc.", "041629111"),
    ("Bard Access Systems, Inc.", "099105123"),
    ("Bard Peripheral Vascular, Inc.", "181201222"),
    ("Baxter Healthcare Corporation", "005187777"),
    ("Owens & Minor Distribution, Inc.", "003230999"),
    ("Becton, Dickinson and Company", "001292192"),
    ("Smith & Nephew, Inc.", "006363241"),
    ("Stryker Corporation", "005318209"),
]


# --- building proposals ------------------------------------------------------------------------------------


def explanation(entity_type, left: dict, right: dict) -> dict:
    """The engine's real explanation of a pair of flat rows (what a run would have stored)."""
    matcher = matching.matcher_for(entity_type)
    [(_, _, explained)] = matcher.match_one({**left, "id": "left"}, [{**right, "id": "right"}], top_k=1)
    return explained.to_dict()


def golden_row(entity_type, golden_id) -> dict:
    _, adapter = matching._adapter(entity_type)
    [row] = list(adapter.golden_rows([golden_id]))
    return row


def duplicate(a, b, *, probability=0.9, band="review", priority=2, status="open", entity_type="supplier"):
    explained = explanation(entity_type, golden_row(entity_type, a.pk), golden_row(entity_type, b.pk))
    return MatchCandidate.objects.create(
        entity_type=entity_type,
        kind=MatchCandidate.Kind.DUPLICATE,
        left_ref=f"g:{a.pk}",
        right_ref=f"g:{b.pk}",
        left_golden_id=a.pk,
        right_golden_id=b.pk,
        probability=probability,
        match_weight=explained["match_weight"],
        band=band,
        priority=priority,
        status=status,
        explanation=explained,
    )


def link(record: SourceRecord, golden, *, probability=0.8, band="review", priority=2, status="open"):
    _, adapter = matching._adapter(record.entity_type)
    explained = explanation(
        record.entity_type, adapter.source_row(record.standardized), golden_row(record.entity_type, golden.pk)
    )
    return MatchCandidate.objects.create(
        entity_type=record.entity_type,
        kind=MatchCandidate.Kind.LINK,
        left_ref=f"c:{record.crosswalk_id}",
        right_ref=f"g:{golden.pk}",
        right_golden_id=golden.pk,
        source_record=record,
        probability=probability,
        match_weight=explained["match_weight"],
        band=band,
        priority=priority,
        status=status,
        explanation=explained,
    )


@pytest.fixture
def suppliers(steward, django_capture_on_commit_callbacks):
    """Golden suppliers; their blocking keys are written when the transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return [
            supplier_create(data={"legal_name": name, "duns": duns}, actor=steward, reason="test")
            for name, duns in NAMES
        ]


@pytest.fixture
def catalog_records(catalog, steward):
    """Unlinked source records from a distributor's catalog (matching on ingest is off in tests)."""

    def make(*names):
        rows = [{"external_id": f"C-{n}", "payload": {"legal_name": name}} for n, name in enumerate(names, 1)]
        source_records_ingest(system=catalog, entity_type="supplier", records=rows, actor=steward)
        return [SourceRecord.objects.get(system=catalog, external_id=row["external_id"]) for row in rows]

    return make


@pytest.fixture
def as_steward(client, steward):
    client.force_login(steward)
    return client


def rows_of(response) -> list[int]:
    return [row["candidate"].pk for row in response.context["rows"]]


def facet(response, name) -> dict[str, int]:
    return {option["value"]: option["count"] for option in response.context["facets"][name]}


# --- inbox ---------------------------------------------------------------------------------------------------


def test_inbox_orders_by_priority_then_probability_and_hides_decided(as_steward, suppliers):
    s = suppliers
    low = duplicate(s[0], s[1], probability=0.99, priority=3)
    mid = duplicate(s[0], s[2], probability=0.70, priority=2)
    high = duplicate(s[0], s[3], probability=0.80, priority=2)
    urgent = duplicate(s[0], s[4], probability=0.60, priority=1, band="match")
    deferred = duplicate(s[0], s[5], probability=0.75, priority=2, status="deferred")
    duplicate(s[0], s[6], status="rejected")
    duplicate(s[0], s[7], status="confirmed")
    duplicate(s[0], s[8], status="superseded")

    response = as_steward.get("/review/")
    assert response.status_code == 200
    assert rows_of(response) == [urgent.pk, high.pk, deferred.pk, mid.pk, low.pk]
    html = response.content.decode()
    assert "Medline Industries, LP" in html and "Baxter Healthcare Corporation" in html
    assert "80.0%" in html and "99.0%" in html
    assert f'href="/review/{urgent.pk}/"' in html
    assert response.context["page"].paginator.count == 5


def test_inbox_filters_and_counts(as_steward, suppliers, catalog_records):
    s = suppliers
    dup_review = duplicate(s[0], s[1])
    dup_match = duplicate(s[2], s[3], band="match", priority=1)
    dup_deferred = duplicate(s[4], s[5], status="deferred")
    [record] = catalog_records("MEDLINE INDUSTRIES")
    link_review = link(record, s[0])

    everything = as_steward.get("/review/")
    assert facet(everything, "kind") == {"": 4, "duplicate": 3, "link": 1}
    assert facet(everything, "band") == {"": 4, "match": 1, "review": 3}
    assert facet(everything, "status") == {"": 4, "open": 3, "deferred": 1}
    assert facet(everything, "entity_type")["supplier"] == 4
    assert facet(everything, "entity_type")["item"] == 0

    links = as_steward.get("/review/?kind=link")
    assert rows_of(links) == [link_review.pk]
    assert "Source record to link" in links.content.decode()

    duplicates_in_review = as_steward.get("/review/?kind=duplicate&band=review")
    assert rows_of(duplicates_in_review) == [dup_review.pk, dup_deferred.pk]
    # counts of one filter are under the other filters: the kind counts within the review band
    assert facet(duplicates_in_review, "kind") == {"": 3, "duplicate": 2, "link": 1}
    assert facet(duplicates_in_review, "band") == {"": 3, "match": 1, "review": 2}

    assert rows_of(as_steward.get("/review/?status=deferred")) == [dup_deferred.pk]
    assert rows_of(as_steward.get("/review/?band=match")) == [dup_match.pk]
    assert rows_of(as_steward.get("/review/?entity_type=item")) == []
    # an unknown value is ignored rather than hiding everything
    assert len(rows_of(as_steward.get("/review/?status=confirmed&kind=bogus"))) == 4


def test_inbox_paginates_by_25_and_keeps_filters(as_steward, suppliers):
    pairs = [(a, b) for i, a in enumerate(suppliers) for b in suppliers[i + 1 :]]
    made = [duplicate(a, b) for a, b in pairs[:30]]
    first = as_steward.get("/review/?kind=duplicate")
    assert len(rows_of(first)) == 25
    assert 'href="?kind=duplicate&amp;page=2"' in first.content.decode()
    second = as_steward.get("/review/?kind=duplicate&page=2")
    assert len(rows_of(second)) == 5
    assert set(rows_of(first)) | set(rows_of(second)) == {c.pk for c in made}
    # compare links carry the filters, so j/k and "next" stay inside the filtered list
    assert f'href="/review/{rows_of(first)[0]}/?kind=duplicate"' in first.content.decode()


def test_inbox_empty_state(as_steward):
    response = as_steward.get("/review/")
    html = response.content.decode()
    assert "Nothing to review" in html
    assert 'href="/"' in html and "dashboard" in html
    assert '<table class="inbox"' not in html


def test_inbox_query_count_does_not_grow_with_rows(as_steward, suppliers, catalog_records):
    pairs = [(a, b) for i, a in enumerate(suppliers) for b in suppliers[i + 1 :]]
    records = catalog_records(*(f"Supplier {n}" for n in range(6)))
    for record, golden in zip(records, suppliers, strict=False):
        link(record, golden)
    for a, b in pairs[:2]:
        duplicate(a, b)
    as_steward.get("/review/")  # warm up: the session and the user's permissions
    with CaptureQueriesContext(connection) as few:
        assert len(rows_of(as_steward.get("/review/"))) == 8

    for a, b in pairs[2:24]:
        duplicate(a, b)
    assert MatchCandidate.objects.count() == 30
    with CaptureQueriesContext(connection) as many:
        assert len(rows_of(as_steward.get("/review/"))) == 25
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_inbox_max_queries_with_30_candidates(as_steward, suppliers, catalog_records, django_assert_max_num_queries):
    pairs = [(a, b) for i, a in enumerate(suppliers) for b in suppliers[i + 1 :]]
    for a, b in pairs[:25]:
        duplicate(a, b)
    for record, golden in zip(catalog_records("One", "Two", "Three", "Four", "Five"), suppliers, strict=False):
        link(record, golden, priority=1)
    with django_assert_max_num_queries(16):  # 13 today: session, user, permissions, page, labels, facets
        response = as_steward.get("/review/")
    assert len(rows_of(response)) == 25


def test_inbox_needs_the_view_permission(client, outsider, viewer, suppliers):
    duplicate(suppliers[0], suppliers[1])
    assert client.get("/review/").status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get("/review/").status_code == 403
    client.force_login(viewer)
    assert client.get("/review/").status_code == 200


# --- compare ------------------------------------------------------------------------------------------------


@pytest.fixture
def bard_link(suppliers, catalog_records):
    """A link proposal the engine made: a catalog record named like Bard, with no identifiers."""
    [record] = catalog_records("Bard Access Systems")
    run = matching.match_source_records("supplier", source_record_ids=[record.pk])
    assert run.review_pairs, "expected the catalog record in the review band"
    return MatchCandidate.objects.filter(left_ref=f"c:{record.crosswalk_id}").order_by("-probability").first()


def test_compare_aligns_fields_with_contributions_and_highlights(as_steward, bard_link, suppliers):
    candidate = bard_link
    assert candidate.right_golden_id == suppliers[2].pk
    response = as_steward.get(f"/review/{candidate.pk}/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["field"] for row in rows] == [f["field"] for f in candidate.explanation["fields"]]
    spec_fields = [f["name"] for f in matching._adapter("supplier")[1].spec["fields"]]
    assert set(spec_fields) <= {row["field"] for row in rows}, "every field of the matching spec has its row"

    by_field = {row["field"]: row for row in rows}
    name = by_field["name"]
    assert name["values"][0]["value"] == "Bard Access Systems"
    assert name["values"][1]["value"] == "Bard Access Systems, Inc."
    assert name["state"] == "same" and name["weight"] > 0 and name["sign"] == "+"
    assert by_field["duns"]["state"] == "missing" and by_field["duns"]["values"][1]["value"] == "099105123"
    # the contributions add up, with the prior, to the total match weight shown in the header
    total = response.context["prior_weight"] + sum(row["weight"] for row in rows)
    assert total == pytest.approx(response.context["match_weight"], abs=1e-6)

    html = response.content.decode()
    assert '<tr data-state="same" data-field="name">' in html
    assert '<tr data-state="missing" data-field="duns">' in html
    # the base stylesheet's .same / .diff / .missing colour the value cells
    assert html.count('<td class="val same">') >= 2 and html.count('<td class="val missing">') >= 2
    assert f"{name['sign']}{name['bits']}" in html and 'class="bar"' in html
    assert response.context["percent"] in html
    # where each value comes from: the source record's system and id; the golden record's page
    assert "from distributor-catalog · C-1" in html
    assert f'href="/records/supplier/{suppliers[2].pk}/"' in html
    assert 'name="decision" value="match"' in html and 'name="decision" value="distinct"' in html


def test_compare_shows_a_golden_values_lineage(as_steward, suppliers, odoo, steward):
    source_records_ingest(
        system=odoo,
        entity_type="supplier",
        records=[{"external_id": "V1", "payload": {"legal_name": "Medline Industries LP", "duns": "025483210"}}],
        actor=steward,
    )
    twin = golden_create_from_source(SourceRecord.objects.get(system=odoo, external_id="V1"), actor=steward)
    from mdm.models import GoldenLineage

    GoldenLineage.objects.update_or_create(
        entity_type="supplier",
        object_id=twin.pk,
        defaults={"fields": {"legal_name": {"source": "odoo-prod:V1", "system": "odoo-prod", "rule": "trust"}}},
    )
    candidate = duplicate(suppliers[0], twin, band="match", priority=1, probability=0.99)
    response = as_steward.get(f"/review/{candidate.pk}/")
    name = {row["field"]: row for row in response.context["rows"]}["name"]
    assert name["values"][0]["source"] == "golden record"
    assert name["values"][1]["source"] == "odoo-prod:V1 · trust"
    assert "duplicate" in response.content.decode().lower()


def test_viewer_sees_no_buttons_and_gets_403_on_decide(client, viewer, bard_link):
    client.force_login(viewer)
    response = client.get(f"/review/{bard_link.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="decision"' not in html and "decide-form" not in html
    refused = client.post(f"/review/{bard_link.pk}/decide/", {"decision": "distinct", "reason": "no"})
    assert refused.status_code == 403
    bard_link.refresh_from_db()
    assert bard_link.status == "open"


def test_decide_is_post_only(as_steward, bard_link):
    assert as_steward.get(f"/review/{bard_link.pk}/decide/").status_code == 405


def test_not_a_match_then_next_proposal_with_a_message(as_steward, suppliers, steward):
    first = duplicate(suppliers[0], suppliers[1], probability=0.95)
    second = duplicate(suppliers[2], suppliers[3], probability=0.90)
    response = as_steward.post(
        f"/review/{first.pk}/decide/", {"decision": "distinct", "reason": "two legal entities"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/review/{second.pk}/"
    first.refresh_from_db()
    assert first.status == "rejected" and first.decided_by == steward
    assert first.decision_reason == "two legal entities"
    message = [str(m) for m in response.context["messages"]]
    assert message == [
        "Not a match: “Medline Industries, LP” and “Cardinal Health, Inc.”; this pair won't be proposed again."
    ]
    assert "Not a match: “Medline Industries, LP”" in response.content.decode()


def test_defer_keeps_it_pending_and_moves_on(as_steward, suppliers):
    first = duplicate(suppliers[0], suppliers[1], probability=0.95)
    second = duplicate(suppliers[2], suppliers[3], probability=0.90)
    response = as_steward.post(f"/review/{first.pk}/decide/", {"decision": "defer", "reason": ""})
    assert response.status_code == 302 and response["Location"] == f"/review/{second.pk}/"
    first.refresh_from_db()
    assert first.status == "deferred"
    # the last one: back to the inbox, which still lists the deferred proposal
    last = as_steward.post(f"/review/{second.pk}/decide/", {"decision": "defer"}, follow=True)
    assert last.redirect_chain[-1][0] == f"/review/{first.pk}/", "wraps to the first proposal still pending"


def test_after_the_last_proposal_the_inbox_says_nothing_to_review(as_steward, suppliers):
    only = duplicate(suppliers[0], suppliers[1])
    response = as_steward.post(f"/review/{only.pk}/decide/", {"decision": "distinct", "reason": "x"}, follow=True)
    assert response.redirect_chain[-1][0] == "/review/"
    assert "Nothing to review" in response.content.decode()


def test_next_stays_inside_the_filters(as_steward, suppliers, catalog_records):
    first = duplicate(suppliers[0], suppliers[1], probability=0.95)
    [record] = catalog_records("Cardinal Health")
    link(record, suppliers[1], probability=0.93)
    third = duplicate(suppliers[2], suppliers[3], probability=0.90)
    page = as_steward.get(f"/review/{first.pk}/?kind=duplicate")
    assert page.context["next_url"] == f"/review/{third.pk}/?kind=duplicate"
    assert page.context["previous_url"] == ""
    assert '<input type="hidden" name="kind" value="duplicate">' in page.content.decode()
    response = as_steward.post(f"/review/{first.pk}/decide/", {"decision": "defer", "kind": "duplicate"})
    assert response["Location"] == f"/review/{third.pk}/?kind=duplicate"
    back = as_steward.get(f"/review/{third.pk}/?kind=duplicate")
    assert back.context["previous_url"] == f"/review/{first.pk}/?kind=duplicate"


def test_merge_on_a_link_proposal_links_the_source_record(as_steward, bard_link, suppliers):
    crosswalk = Crosswalk.objects.get(pk=int(bard_link.left_ref[2:]))
    assert crosswalk.golden_id is None
    response = as_steward.post(f"/review/{bard_link.pk}/decide/", {"decision": "match", "reason": "same remit-to"})
    assert response.status_code == 302
    crosswalk.refresh_from_db()
    bard_link.refresh_from_db()
    assert crosswalk.golden_id == suppliers[2].pk and crosswalk.link_method == "steward"
    assert bard_link.status == "confirmed"
    assert ChangeRequest.objects.count() == 0
    page = as_steward.get(response["Location"])
    assert "Linked source record “Bard Access Systems” to golden record “Bard Access Systems, Inc.”." in [
        str(m) for m in page.context["messages"]
    ]


def test_merge_on_a_duplicate_pair_proposes_a_merge_change_request(as_steward, suppliers, catalog, steward):
    keep, other = suppliers[0], suppliers[1]
    # the record more source records are linked to survives by default, even with the higher id
    for n in range(2):
        Crosswalk.objects.create(system=catalog, entity_type="supplier", external_id=f"X-{n}", golden_id=other.pk)
    candidate = duplicate(keep, other, band="match", priority=1)
    page = as_steward.get(f"/review/{candidate.pk}/")
    assert page.context["survivor"] == other.pk
    assert re.search(rf'name="survivor" value="{other.pk}" checked', page.content.decode())

    response = as_steward.post(
        f"/review/{candidate.pk}/decide/",
        {"decision": "match", "survivor": str(other.pk), "reason": "same DUNS, two Odoo vendors"},
        follow=True,
    )
    cr = ChangeRequest.objects.get()
    assert cr.kind == ChangeRequest.Kind.MERGE and cr.status == ChangeRequest.Status.SUBMITTED
    assert cr.object_id == other.pk and cr.changes["merged_id"] == keep.pk
    assert cr.match_candidate_id == candidate.pk and cr.requested_by == steward
    candidate.refresh_from_db()
    assert candidate.status == "confirmed"
    html = response.content.decode()
    assert f'Merge proposed: change request <a href="/changes/{cr.pk}/">#{cr.pk}</a>' in html

    # decided: read-only, with the merge request it led to
    decided = as_steward.get(f"/review/{candidate.pk}/").content.decode()
    assert 'name="decision"' not in decided
    assert "Confirmed match" in decided and "same DUNS, two Odoo vendors" in decided
    assert f'href="/changes/{cr.pk}/"' in decided


def test_merge_needs_a_reason_and_a_survivor_and_changes_nothing_without(as_steward, suppliers):
    candidate = duplicate(suppliers[0], suppliers[1])
    no_reason = as_steward.post(
        f"/review/{candidate.pk}/decide/", {"decision": "match", "survivor": str(suppliers[0].pk), "reason": " "}
    )
    assert no_reason["Location"] == f"/review/{candidate.pk}/"
    page = as_steward.get(no_reason["Location"])
    [message] = [str(m) for m in page.context["messages"]]
    assert message.startswith("Nothing was changed: Say why")
    stranger = as_steward.post(
        f"/review/{candidate.pk}/decide/", {"decision": "match", "survivor": str(suppliers[5].pk), "reason": "x"}
    )
    assert stranger["Location"] == f"/review/{candidate.pk}/"
    candidate.refresh_from_db()
    assert candidate.status == "open" and ChangeRequest.objects.count() == 0


def test_a_change_error_is_shown_and_nothing_changes(as_steward, suppliers, steward):
    from mdm.services.changes import merge_propose

    pending = merge_propose(
        entity_type="supplier", survivor_id=suppliers[0].pk, merged_id=suppliers[2].pk, actor=steward, reason="x"
    )
    candidate = duplicate(suppliers[0], suppliers[1])
    response = as_steward.post(
        f"/review/{candidate.pk}/decide/",
        {"decision": "match", "survivor": str(suppliers[0].pk), "reason": "same"},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert (
        message
        == f"Nothing was changed: Change request #{pending.pk} already proposes a merge of one of these records."
    )
    candidate.refresh_from_db()
    assert candidate.status == "open" and ChangeRequest.objects.count() == 1


def test_an_already_decided_proposal_is_read_only_and_refuses_a_second_decision(as_steward, suppliers, steward):
    candidate = duplicate(suppliers[0], suppliers[1])
    matching.match_candidate_decide(candidate, decision="distinct", actor=steward, reason="different companies")
    page = as_steward.get(f"/review/{candidate.pk}/")
    html = page.content.decode()
    assert 'name="decision"' not in html
    assert 'data-decision="rejected"' in html and "Not a match" in html and "different companies" in html
    assert "sam.steward" in html
    response = as_steward.post(f"/review/{candidate.pk}/decide/", {"decision": "match", "reason": "x"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was changed: This proposal is already not a match."
    ]
    candidate.refresh_from_db()
    assert candidate.status == "rejected"


def test_htmx_decision_swaps_the_panel_to_the_next_proposal(as_steward, suppliers):
    first = duplicate(suppliers[0], suppliers[1], probability=0.95)
    second = duplicate(suppliers[2], suppliers[3], probability=0.90)
    response = as_steward.post(
        f"/review/{first.pk}/decide/", {"decision": "distinct", "reason": "no"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    location = json.loads(response["HX-Location"])
    assert location == {
        "path": f"/review/{second.pk}/",
        "target": "main",
        "select": "main",
        "swap": "outerHTML",
    }
    first.refresh_from_db()
    assert first.status == "rejected"


def test_unknown_proposal_is_404(as_steward):
    assert as_steward.get(reverse("review-detail", args=[999999])).status_code == 404
