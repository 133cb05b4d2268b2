"""Matching in the hub: keys that follow golden records, online match API, incremental and batch runs, decisions."""

import pytest
from django.test import override_settings

from mdm.choices import LinkMethod, RecordStatus
from mdm.models import Crosswalk, MatchCandidate, MatchDecision, MatchKey, MatchModel, MatchRun, SourceRecord
from mdm.services import matching
from mdm.services.golden import golden_create_from_source, golden_set_status
from mdm.services.ingest import source_records_ingest
from suppliers.models import Supplier, SupplierAlias

pytestmark = pytest.mark.django_db

MASTER = [
    # external id, legal name, DUNS, EIN, street, city, postal code
    ("V1", "Medline Industries, LP", "025483210", "36-1234567", "Three Lakes Drive", "Northfield", "60093"),
    ("V2", "Cardinal Health, Inc.", "041629111", "31-0958666", "7000 Cardinal Place", "Dublin", "43017"),
    ("V3", "Bard Access Systems, Inc.", "099105123", "", "605 North 5600 West", "Salt Lake City", "84116"),
    ("V4", "Bard Peripheral Vascular, Inc.", "181201222", "", "1625 West 3rd Street", "Tempe", "85281"),
    ("V5", "Baxter Healthcare Corporation", "005187777", "36-0781620", "One Baxter Parkway", "Deerfield", "60015"),
    (
        "V6",
        "Owens & Minor Distribution, Inc.",
        "003230999",
        "54-1701843",
        "9120 Lockwood Blvd",
        "Mechanicsville",
        "23116",
    ),
]


def payload(name, duns="", ein="", street="", city="", postal="", aliases=()):
    data = {"legal_name": name, "aliases": list(aliases), "duns": duns, "ein": ein}
    if street or city:
        data["addresses"] = [
            {
                "kind": "remit_to",
                "line1": street or "Accounts Receivable Dept",
                "city": city,
                "postal_code": postal,
                "country": "US",
            }
        ]
    return data


@pytest.fixture
def master(odoo, steward, django_capture_on_commit_callbacks):
    """Golden suppliers created from an Odoo feed, as an initial load does; keys refreshed on commit."""
    records = [{"external_id": ext, "payload": payload(*row)} for ext, *row in MASTER]
    with django_capture_on_commit_callbacks(execute=True):
        source_records_ingest(system=odoo, entity_type="supplier", records=records, actor=steward)
        goldens = {}
        for record in SourceRecord.objects.filter(system=odoo).order_by("external_id"):
            goldens[record.external_id] = golden_create_from_source(record, actor=steward)
    return goldens


def ingest(system, actor, rows, capture):
    with capture(execute=True):
        return source_records_ingest(system=system, entity_type="supplier", records=rows, actor=actor)


def test_keys_follow_golden_records(master, steward, django_capture_on_commit_callbacks):
    medline = master["V1"]
    keys = set(MatchKey.objects.filter(entity_type="supplier", golden_id=medline.pk).values_list("key", flat=True))
    assert keys, "a golden supplier gets blocking keys when its transaction commits"
    assert any("025483210" in key for key in keys)

    with django_capture_on_commit_callbacks(execute=True):
        SupplierAlias.objects.create(supplier=medline, name="Medline Surgical Supply")
    after = set(MatchKey.objects.filter(entity_type="supplier", golden_id=medline.pk).values_list("key", flat=True))
    assert after > keys, "a new alias (a watched child row) adds keys"

    with django_capture_on_commit_callbacks(execute=True):
        golden_set_status(medline, status=RecordStatus.RETIRED, actor=steward, reason="test")
    assert not MatchKey.objects.filter(entity_type="supplier", golden_id=medline.pk).exists()


def test_online_match_finds_the_supplier_and_explains(master, api):
    response = api.post("/api/v1/match/suppliers/", {"name": "MEDLINE IND LP", "city": "Northfield"}, format="json")
    assert response.status_code == 200, response.json()
    results = response.json()
    assert results[0]["golden_id"] == master["V1"].pk
    assert results[0]["display"] == "Medline Industries, LP (Northfield, US)"
    assert results[0]["url"].endswith(f"/api/v1/suppliers/{master['V1'].pk}/")
    explanation = results[0]["explanation"]
    total = explanation["prior_weight"] + sum(field["weight"] for field in explanation["fields"])
    assert total == pytest.approx(explanation["match_weight"], abs=1e-6)
    assert [r["probability"] for r in results] == sorted((r["probability"] for r in results), reverse=True)


def test_online_match_identifier_wins_over_a_different_name(master, api):
    response = api.post("/api/v1/match/suppliers/", {"name": "Cardinal", "duns": "04-162-9111"}, format="json")
    assert response.status_code == 200
    best = response.json()[0]
    assert best["golden_id"] == master["V2"].pk
    assert best["band"] in ("match", "review")


def test_online_match_returns_nothing_for_an_unknown_company(master, api):
    response = api.post("/api/v1/match/suppliers/", {"name": "Zyzzyva Quantum Widgets"}, format="json")
    assert response.status_code == 200
    assert all(result["band"] == "distinct" for result in response.json())


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        ({"nmae": "Medline"}, "", "nmae"),
        ({}, "", "non_field_errors"),
        ({"name": ""}, "", "non_field_errors"),
        ({"name": "Medline"}, "?top_k=0", "top_k"),
        ({"name": "Medline"}, "?top_k=lots", "top_k"),
        ({"aliases": "not a list"}, "", "aliases"),
    ],
)
def test_online_match_bad_input_is_a_clear_400(master, api, body, query, field):
    response = api.post(f"/api/v1/match/suppliers/{query}", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_online_match_needs_view_permission(master, api, outsider, anon_api, viewer):
    api.force_authenticate(outsider)
    assert api.post("/api/v1/match/suppliers/", {"name": "Medline"}, format="json").status_code == 403
    assert anon_api.post("/api/v1/match/suppliers/", {"name": "Medline"}, format="json").status_code in (401, 403)
    api.force_authenticate(viewer)
    assert api.post("/api/v1/match/suppliers/", {"name": "Medline"}, format="json").status_code == 200


def test_incremental_links_proposes_and_creates(master, catalog, steward, django_capture_on_commit_callbacks):
    rows = [
        # same DUNS, distributor's spelling: linked automatically
        {"external_id": "C-1", "payload": payload("MEDLINE INDUSTRIES LP", duns="025483210", city="Northfield")},
        # a new company, twice in one feed: one golden record, the other linked to it
        {"external_id": "C-2", "payload": payload("Zimmer Biomet Holdings, Inc.", ein="35-2331318", city="Warsaw")},
        {"external_id": "C-3", "payload": payload("ZIMMER BIOMET HOLDINGS INC", ein="352331318", city="Warsaw")},
    ]
    ingest(catalog, steward, rows, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        run = matching.match_source_records("supplier", actor=steward)

    assert run.status == MatchRun.Status.DONE
    assert run.records == 3
    c1 = Crosswalk.objects.get(system=catalog, external_id="C-1")
    assert c1.golden_id == master["V1"].pk
    assert c1.link_method == LinkMethod.AUTO_MATCH
    assert 0.0 < c1.match_score <= 1.0
    c2, c3 = (Crosswalk.objects.get(system=catalog, external_id=ext) for ext in ("C-2", "C-3"))
    assert c2.golden_id is not None and c2.golden_id == c3.golden_id
    assert Supplier.objects.filter(pk=c2.golden_id, legal_name="Zimmer Biomet Holdings, Inc.").exists()
    assert run.created_golden == 1
    assert run.auto_linked == 2


def test_review_band_proposal_and_steward_decisions(master, catalog, steward, django_capture_on_commit_callbacks):
    # A name like Bard's, no identifiers: likely the same company, not certain.
    rows = [{"external_id": "C-9", "payload": payload("Bard Access Systems")}]
    ingest(catalog, steward, rows, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        matching.match_source_records("supplier", actor=steward)
    crosswalk = Crosswalk.objects.get(system=catalog, external_id="C-9")
    proposals = MatchCandidate.objects.filter(left_ref=f"c:{crosswalk.pk}")
    if crosswalk.golden_id is not None:
        pytest.fail(f"expected a review proposal, the record was linked with score {crosswalk.match_score}")
    assert proposals.exists()
    assert proposals.first().kind == MatchCandidate.Kind.LINK

    best = proposals.order_by("-probability").first()
    assert best.right_golden_id == master["V3"].pk
    for other in proposals.exclude(pk=best.pk):
        matching.match_candidate_decide(other, decision="distinct", actor=steward, reason="different division")
    matching.match_candidate_decide(best, decision="match", actor=steward, reason="same remit-to address")
    crosswalk.refresh_from_db()
    assert crosswalk.golden_id == master["V3"].pk
    assert crosswalk.link_method == LinkMethod.STEWARD
    decision = MatchDecision.objects.get(left_ref=min(best.left_ref, best.right_ref))
    assert decision.is_match and decision.decided_by == steward and decision.evidence == best.explanation

    with pytest.raises(matching.DecisionError, match="already"):
        matching.match_candidate_decide(best, decision="distinct", actor=steward)


def test_rejected_pairs_are_never_proposed_again(master, catalog, steward, django_capture_on_commit_callbacks):
    rows = [{"external_id": "C-9", "payload": payload("Bard Access Systems")}]
    ingest(catalog, steward, rows, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        matching.match_source_records("supplier", actor=steward)
    crosswalk = Crosswalk.objects.get(system=catalog, external_id="C-9")
    proposals = list(MatchCandidate.objects.filter(left_ref=f"c:{crosswalk.pk}"))
    assert proposals
    with django_capture_on_commit_callbacks(execute=True):
        for proposal in proposals:
            matching.match_candidate_decide(proposal, decision="distinct", actor=steward, reason="not them")
    crosswalk.refresh_from_db()
    # every proposal rejected: the record is a new entity
    assert crosswalk.golden_id is not None
    assert crosswalk.golden_id not in {p.right_golden_id for p in proposals}

    # the batch run over golden records obeys the decisions made on the source record
    matching.match_run("supplier", actor=steward)
    assert not MatchCandidate.objects.filter(
        kind=MatchCandidate.Kind.DUPLICATE,
        status="open",
        left_golden_id__in=[crosswalk.golden_id, master["V3"].pk],
        right_golden_id__in=[crosswalk.golden_id, master["V3"].pk],
    ).exists()


def test_batch_run_proposes_duplicates_and_remembers_decisions(
    master, odoo, steward, django_capture_on_commit_callbacks
):
    twin = [{"external_id": "V7", "payload": payload("MEDLINE INDUSTRIES LP", duns="025483210", city="Northfield")}]
    with django_capture_on_commit_callbacks(execute=True):
        source_records_ingest(system=odoo, entity_type="supplier", records=twin, actor=steward)
        duplicate = golden_create_from_source(SourceRecord.objects.get(external_id="V7"), actor=steward)

    run = matching.match_run("supplier", actor=steward)
    assert run.status == MatchRun.Status.DONE and run.records == len(MASTER) + 1
    assert run.candidate_pairs >= 1
    assert run.parameters["trained"] is False, "seven records are too few to train on: the default model scores"
    assert not MatchModel.objects.exists()
    pair = MatchCandidate.objects.get(kind=MatchCandidate.Kind.DUPLICATE, status="open", right_golden_id=duplicate.pk)
    assert pair.left_golden_id == master["V1"].pk
    assert pair.band == "match"
    assert {"Bard Access Systems, Inc.", "Bard Peripheral Vascular, Inc."} != {
        str(s) for s in Supplier.objects.filter(pk__in=[pair.left_golden_id, pair.right_golden_id])
    }

    # the same run again updates the proposal instead of adding a second one
    matching.match_run("supplier", actor=steward)
    assert MatchCandidate.objects.filter(right_golden_id=duplicate.pk, status="open").count() == 1

    matching.match_candidate_decide(pair, decision="distinct", actor=steward, reason="two legal entities")
    rerun = matching.match_run("supplier", actor=steward)
    assert not MatchCandidate.objects.filter(right_golden_id=duplicate.pk, status="open").exists()
    assert rerun.match_pairs == 0


def test_match_run_api_and_listing(master, api, viewer):
    response = api.post("/api/v1/match/runs/", {"entity_type": "vendor"}, format="json")
    assert response.status_code == 400 and "entity_type" in response.json()["errors"]
    run = matching.match_run("supplier")
    listed = api.get("/api/v1/match/runs/").json()
    assert listed["results"][0]["id"] == run.pk
    api.force_authenticate(viewer)
    assert api.post("/api/v1/match/runs/", {"entity_type": "supplier"}, format="json").status_code == 403


def test_decide_api_permissions_and_errors(master, catalog, steward, api, viewer, django_capture_on_commit_callbacks):
    rows = [{"external_id": "C-9", "payload": payload("Bard Access Systems")}]
    ingest(catalog, steward, rows, django_capture_on_commit_callbacks)
    matching.match_source_records("supplier", actor=steward)
    candidate = MatchCandidate.objects.order_by("-probability").first()
    assert candidate is not None
    url = f"/api/v1/match/candidates/{candidate.pk}/decide/"
    assert api.post(url, {"decision": "maybe"}, format="json").json()["errors"]["decision"]
    api.force_authenticate(viewer)
    assert api.get("/api/v1/match/candidates/").status_code == 200
    assert api.post(url, {"decision": "defer"}, format="json").status_code == 403
    api.force_authenticate(steward)
    response = api.post(url, {"decision": "defer", "reason": "ask purchasing"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "deferred"


@override_settings(MDM_MATCH_ON_INGEST=True)
def test_ingest_starts_incremental_matching(master, catalog, steward, django_capture_on_commit_callbacks):
    from mdm.celery import app

    rows = [{"external_id": "C-1", "payload": payload("MEDLINE INDUSTRIES LP", duns="025483210")}]
    app.conf.task_always_eager = True
    try:
        ingest(catalog, steward, rows, django_capture_on_commit_callbacks)
    finally:
        app.conf.task_always_eager = False
    assert Crosswalk.objects.get(system=catalog, external_id="C-1").golden_id == master["V1"].pk
    assert MatchRun.objects.filter(mode=MatchRun.Mode.INCREMENTAL, status="done").exists()


@override_settings(MDM_MATCH_KEY_CAP=2, MDM_MATCH_ONLINE_CANDIDATES=10)
def test_candidate_lookup_skips_crowded_keys_and_ranks_by_shared_keys():
    rows = [("tok:common", 1), ("tok:common", 2), ("tok:common", 3), ("tok:rare", 2), ("tok:rare", 4), ("ph:X", 4)]
    MatchKey.objects.bulk_create(MatchKey(entity_type="item", key=key, golden_id=gid) for key, gid in rows)
    MatchKey.objects.create(entity_type="supplier", key="ph:X", golden_id=9)
    # tok:common is held by 3 records, over the cap of 2: it says nothing and is skipped
    assert matching.candidate_golden_ids("item", ["tok:common", "tok:rare", "ph:X"]) == [4, 2]
    assert matching.candidate_golden_ids("item", ["tok:common"]) == []
    assert matching.candidate_golden_ids("item", []) == []
