"""Demo data: the shipped GUDID sample, the deterministic generator, and manage.py demo_load end to end."""

import csv
import json
import re
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from mdm import registry, roles
from mdm.choices import LinkMethod
from mdm.demo import build_sample
from mdm.demo.generator import (
    DISTRIBUTOR,
    ENTITY_ORDER,
    GPO,
    ODOO,
    SAMPLE_PATH,
    abbreviate,
    generate,
    load_devices,
    pack_string,
)
from mdm.identifiers import (
    clean_aba_routing,
    clean_duns,
    clean_ein,
    clean_gln,
    clean_iban,
    clean_uei,
    clean_vat,
)
from mdm.management.commands.demo_load import DEMO_PASSWORD
from mdm.models import (
    ApiToken,
    Crosswalk,
    IngestBatch,
    MatchCandidate,
    MatchRun,
    QuarantinedRecord,
    SourceRecord,
    SourceSystem,
)
from mdm.services.golden import golden_create_from_source
from mdm.services.ingest import source_records_ingest
from mdm.tokens import authenticate_secret

SMALL = 120


@pytest.fixture(scope="module")
def demo():
    return generate(42, items=SMALL)


@pytest.fixture(scope="module")
def full():
    return generate(42)


# ---------------------------------------------------------------------------------------------------
# The shipped sample


def test_shipped_sample_is_small_and_covers_every_packaging_hierarchy():
    assert SAMPLE_PATH.stat().st_size < 1_000_000
    devices = load_devices()
    assert 1100 <= len(devices) <= 1300
    assert len({d.primary_di for d in devices}) == len(devices)
    assert sum(len(d.packages) >= 2 for d in devices) == 482
    assert len({d.company_name for d in devices}) == 146
    # Real GUDID errors are kept on purpose (they end up in the quarantine).
    assert sum(not build_sample.gtin_is_valid(d.primary_di) for d in devices) == 9


def test_sample_packages_chain_from_the_primary_di():
    with open(SAMPLE_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == build_sample.SAMPLE_COLUMNS
    example = next(r for r in rows if r["primary_di"] == "00841470100667")
    assert json.loads(example["packages"]) == [
        {"di": "10841470100664", "contains": "00841470100667", "quantity": 10},
        {"di": "20841470100661", "contains": "10841470100664", "quantity": 100},
    ]


def test_build_sample_selection_is_deterministic():
    from stdnum import ean

    dis = [f"0084147010{n:03d}" for n in range(300)]
    devices = [
        {"primary_di": di + ean.calc_check_digit(di), "company_name": f"Labeler {n % 7}", "device_description": ""}
        for n, di in enumerate(dis)
    ]
    packages_of = {devices[0]["primary_di"]: [{}, {}]}
    first = build_sample.select(devices, packages_of, target=40)
    assert first == build_sample.select(devices, packages_of, target=40)
    assert len(first) == 40
    assert devices[0] in first  # multi-level devices are always in
    assert len({d["company_name"] for d in first}) == 7  # spread over the labelers


def test_gtin_check_matches_stdnum():
    from stdnum import ean

    for value in ("00841470100667", "10841470100664", "00841518100003", "4006381333931", "12345670"):
        assert build_sample.gtin_is_valid(value) == ean.is_valid(value)


# ---------------------------------------------------------------------------------------------------
# The generator


def test_same_seed_same_output_and_a_different_seed_differs(demo, full):
    assert generate(42, items=SMALL) == demo
    assert generate(42) == full
    other = generate(43, items=SMALL)
    assert other != demo
    assert other.records(ODOO) != demo.records(ODOO)
    assert generate(43).records(DISTRIBUTOR) != full.records(DISTRIBUTOR)


def test_three_sources_in_load_order(full):
    assert [(f.name, f.kind, f.trust_rank) for f in full.feeds] == [
        (ODOO, "odoo", 1),
        (DISTRIBUTOR, "file", 20),
        (GPO, "gpo", 10),
    ]
    for feed in full.feeds:
        order = [ENTITY_ORDER.index(r.entity_type) for r in feed.records]
        assert order == sorted(order), feed.name
        ids = [(r.entity_type, r.external_id) for r in feed.records]
        assert len(ids) == len(set(ids)), f"duplicate external ids in {feed.name}"
        assert all(isinstance(r.payload, dict) and r.payload for r in feed.records)
        json.dumps([r.payload for r in feed.records])  # plain JSON, as an API client would send
    counts = full.counts()
    assert counts[ODOO]["item"] == 1200
    assert counts[ODOO]["supplier"] == 146
    assert 0.75 * 1200 < counts[DISTRIBUTOR]["item"] < 1200
    assert set(counts[GPO]) == {"supplier", "item", "contract", "contract_price"}
    assert "contract" not in counts[DISTRIBUTOR]


@pytest.mark.parametrize("count", [1, 7, 900, 1199])
def test_items_option_gives_exactly_that_many_items(count):
    assert len(generate(5, items=count).feed(ODOO).of("item")) == count


def test_items_option_selects_a_mix(demo):
    odoo_items = [r.payload for r in demo.feed(ODOO).of("item")]
    assert len(odoo_items) == SMALL
    assert sum(len(p["packaging"]) >= 3 for p in odoo_items) >= SMALL * 0.3
    assert len({p["manufacturer"] for p in odoo_items}) >= 30
    assert {p["manufacturer"] for p in odoo_items} == {r.payload["legal_name"] for r in demo.feed(ODOO).of("supplier")}


def test_odoo_payloads_have_the_documented_shapes(full):
    odoo = full.feed(ODOO)
    units = {r.payload["code"]: r.payload for r in odoo.of("unit")}
    assert {"EA", "BX", "CS", "PK", "CT", "KT", "DZ", "MG", "G", "ML", "L"} <= set(units)
    assert units["MG"] == {
        "code": "MG",
        "name": "Milligram",
        "dimension": "mass",
        "unece_code": "MGM",
        "ucum_code": "mg",
        "aliases": ["milligram"],
    }
    assert "Units" in units["EA"]["aliases"] and "Box of 100" in units["BX"]["aliases"]
    all_aliases = [a.casefold() for p in units.values() for a in p["aliases"]]
    assert len(all_aliases) == len(set(all_aliases)), "an alias may name only one unit per system"

    item = next(r.payload for r in odoo.of("item") if r.payload["gudid_di"] == "00841470100667")
    assert item["packaging"] == [
        {"unit": "Units", "quantity": 1, "gtin": "00841470100667"},
        {"unit": "Box", "quantity": 10, "gtin": "10841470100664"},
        {"unit": "Case", "quantity": 100, "gtin": "20841470100661"},
    ]
    assert item["base_unit"] == "Units"
    types = Counter(r.payload["item_type"] for r in odoo.of("item"))
    assert set(types) <= {"med_surg", "implant", "lab", "equipment"}
    assert types["implant"] > 100 and types["med_surg"] > 100 and types["equipment"] >= 1
    assert all(re.fullmatch(r"4[12]\d{6}", r.payload["unspsc"]) for r in odoo.of("item"))
    assert not any("Â" in r.payload["description"] for r in odoo.of("item")), "mojibake is repaired in Odoo"

    suppliers = {r.external_id: r.payload for r in odoo.of("supplier")}
    for contract in odoo.of("contract"):
        assert contract.payload["supplier"] in suppliers
        assert contract.payload["kind"] == "local"
        assert contract.payload["start_date"] <= contract.payload["end_date"]
    contracts = {r.external_id for r in odoo.of("contract")}
    items = {r.external_id for r in odoo.of("item")}
    for price in odoo.of("contract_price"):
        assert price.payload["contract"] in contracts and price.payload["item"] in items
        assert re.fullmatch(r"\d+\.\d{2}", price.payload["price"])


def test_generated_supplier_identifiers_are_valid(full):
    """Every identifier the Odoo feed sends passes the hub's own validators (check digits, IRS prefixes)."""
    seen = Counter()
    for record in full.feed(ODOO).of("supplier"):
        p = record.payload
        clean_gln(p["gln"])
        clean_duns(p["duns"])
        if p.get("ein"):
            assert clean_ein(p["ein"]) == p["ein"]
            seen["ein"] += 1
        if p.get("uei"):
            clean_uei(p["uei"])
        if p.get("vat"):
            clean_vat(p["vat"])
            seen["vat"] += 1
        for account in p["bank_accounts"]:
            if "iban" in account:
                clean_iban(account["iban"])
                seen["iban"] += 1
            else:
                clean_aba_routing(account["aba_routing"])
                seen["aba"] += 1
        for address in p["addresses"]:
            assert address["kind"] in {"remit_to", "order_from", "headquarters", "ship_from", "other"}
            assert {"line1", "city", "country"} <= set(address)
            if address.get("gln"):
                clean_gln(address["gln"])
        assert p["screening_status"] in {"not_screened", "clear", "flagged", "excluded"}
        assert all(c["name"] for c in p["contacts"])
    assert seen["vat"] >= 5 and seen["iban"] >= 5 and seen["aba"] >= 100 and seen["ein"] >= 100


def test_distributor_feed_disagrees_like_real_data(full):
    odoo = full.feed(ODOO)
    distributor = full.feed(DISTRIBUTOR)
    items = [r.payload for r in distributor.of("item")]
    descriptions = " ".join(p["description"] for p in items)
    for abbreviation in ("CATH", "STRL", "SCR", "W/", "DBL", "LUM", "ASSY"):
        assert re.search(rf"(?<![A-Z]){re.escape(abbreviation)}(?![A-Z])", descriptions), abbreviation
    assert all(p["description"] == p["description"].upper() and len(p["description"]) <= 60 for p in items)
    packs = [p["pack_string"] for p in items if p.get("pack_string")]
    assert any(re.fullmatch(r"[A-Z]{2} \d+[A-Z]{2}/\d+EA", s) for s in packs)  # CS 10BX/100EA
    assert any(re.fullmatch(r"\d+/[A-Z]{2}", s) for s in packs)  # 100/BX
    assert len(packs) < len(items)  # some rows have none
    assert sum(1 for p in items if not p.get("gudid_di")) >= 10
    assert sum(1 for p in items for level in p["packaging"] if not level["gtin"]) >= 10

    odoo_names = {r.payload["legal_name"] for r in odoo.of("supplier")}
    names = [r.payload["legal_name"] for r in distributor.of("supplier")]
    assert sum(name not in odoo_names for name in names) > len(names) * 0.5
    assert any(name.isupper() and "," not in name for name in names)

    aliases = {a for r in distributor.of("unit") for a in r.payload["aliases"]}
    assert {"Case", "case of 12"} <= aliases

    # About 2% of the distributor's rows are broken on purpose, plus the GUDID's own bad check digits.
    broken = [key for key in distributor.invalid if key[0] == "item"]
    assert len(items) * 0.02 <= len(broken) <= len(items) * 0.05
    units = {p["base_unit"] for p in items}
    assert units & {"RL", "BG", "DRM"}


def test_gpo_feed_has_tiered_prices_around_2026(full):
    gpo = full.feed(GPO)
    suppliers = {r.external_id for r in gpo.of("supplier")}
    items = {r.external_id: r.payload for r in gpo.of("item")}
    contracts = {r.external_id: r.payload for r in gpo.of("contract")}
    assert all(c["kind"] == "gpo" and c["gpo_name"] and c["supplier"] in suppliers for c in contracts.values())
    assert all(c["start_date"].startswith("2026") for c in contracts.values())
    tiers = Counter()
    by_item: dict = {}
    for record in gpo.of("contract_price"):
        p = record.payload
        assert p["contract"] in contracts and p["item"] in items
        tiers[p["min_quantity"]] += 1
        by_item.setdefault((p["contract"], p["item"]), []).append((p["min_quantity"], float(p["price"])))
    assert {1, 10, 50} <= set(tiers)
    for levels in by_item.values():
        prices = [price for _, price in sorted(levels)]
        assert prices == sorted(prices, reverse=True), "a higher tier never costs more"
    implants = [
        float(p.payload["price"])
        for p in gpo.of("contract_price")
        if items[p.payload["item"]]["item_type"] == "implant"
    ]
    assert sorted(implants)[len(implants) // 2] > 100


def test_abbreviate_and_pack_string_examples():
    assert (
        abbreviate("ARROWÂ® PICC with Chlorag+ardÂ®  Technology, sterile")
        == "ARROW PICC W/ CHLORAG+ARD TECHNOLOGY STRL"
    )
    assert abbreviate("Double Lumen Catheter, Large") == "DBL LUM CATH LG"
    from mdm.demo.generator import Level

    levels = [Level("EA", 1, ""), Level("BX", 100, ""), Level("CS", 10, "")]
    assert pack_string(levels, rng=None) == "CS 10BX/100EA"


# ---------------------------------------------------------------------------------------------------
# Payloads against the registered payload serializers


def _golden_units(system, feed, actor=None):
    records = [{"external_id": r.external_id, "payload": r.payload} for r in feed.of("unit")]
    result = source_records_ingest(system=system, entity_type="unit", records=records, actor=actor)
    for record in SourceRecord.objects.filter(batch=result.batch).select_related("crosswalk", "system"):
        golden_create_from_source(record, actor=actor)


@pytest.mark.django_db
def test_payloads_validate_against_the_registered_serializers(demo):
    """Every payload validates except the ones the generator breaks on purpose (and says so)."""
    systems = {
        feed.name: SourceSystem.objects.create(name=feed.name, kind=feed.kind, trust_rank=feed.trust_rank)
        for feed in demo.feeds
    }
    _golden_units(systems[ODOO], demo.feed(ODOO))
    checked = Counter()
    for feed in demo.feeds:
        context = {"system": systems[feed.name], "cache": {}}
        for record in feed.records:
            try:
                spec = registry.get(record.entity_type)
            except KeyError:
                continue  # that app has not registered its entity type yet
            serializer = spec.payload_serializer(data=record.payload, context=context)
            expected_invalid = (record.entity_type, record.external_id) in feed.invalid
            assert serializer.is_valid() != expected_invalid, (feed.name, record, serializer.errors)
            checked[record.entity_type] += 1
    for entity_type in ENTITY_ORDER:
        if entity_type in registry.entity_types():
            assert checked[entity_type], entity_type


# ---------------------------------------------------------------------------------------------------
# manage.py demo_load end to end


def _missing_entity_types():
    return [e for e in ENTITY_ORDER if e not in registry.entity_types()]


def _snapshot():
    snapshot = {
        "source_records": SourceRecord.objects.count(),
        "quarantine": QuarantinedRecord.objects.count(),
        "batches": IngestBatch.objects.count(),
        "crosswalks": Crosswalk.objects.count(),
        "linked": Crosswalk.objects.filter(golden_id__isnull=False).count(),
        "users": User.objects.count(),
        "tokens": ApiToken.objects.count(),
        "systems": SourceSystem.objects.count(),
    }
    for entity_type in registry.entity_types():
        snapshot[entity_type] = registry.get(entity_type).model.objects.count()
    return snapshot


@pytest.mark.django_db
def test_demo_load_end_to_end():
    missing = _missing_entity_types()
    if missing:
        pytest.skip(f"entity types not registered yet: {', '.join(missing)}")
    out = StringIO()
    call_command("demo_load", "--items", "60", stdout=out, verbosity=0)
    output = out.getvalue()
    data = generate(42, items=60)

    # Source systems and what was stored / rejected.
    assert set(SourceSystem.objects.values_list("name", flat=True)) == {ODOO, DISTRIBUTOR, GPO}
    assert SourceSystem.objects.get(name=ODOO).trust_rank == 1
    for feed in data.feeds:
        stored = SourceRecord.objects.filter(system__name=feed.name).count()
        quarantined = QuarantinedRecord.objects.filter(system__name=feed.name).count()
        assert stored + quarantined == len(feed.records), feed.name
        assert quarantined == len(feed.invalid), feed.name
    assert QuarantinedRecord.objects.filter(system__name=DISTRIBUTOR, status="open").exists()
    assert set(IngestBatch.objects.values_list("channel", flat=True)) == {IngestBatch.Channel.DEMO}

    # Golden records from Odoo, every stored Odoo record linked; the other sources went through matching:
    # linked to an Odoo record, proposed for review, or a golden record of their own.
    for entity_type in ENTITY_ORDER:
        odoo = Crosswalk.objects.filter(system__name=ODOO, entity_type=entity_type)
        assert odoo.exists(), entity_type
        assert not odoo.filter(golden_id__isnull=True).exists(), entity_type
        linked = Crosswalk.objects.filter(entity_type=entity_type, golden_id__isnull=False)
        assert registry.get(entity_type).model.objects.count() == linked.values("golden_id").distinct().count()
    for entity_type in ("supplier", "item"):
        assert MatchRun.objects.filter(entity_type=entity_type, status="done").count() == 2
        others = Crosswalk.objects.filter(system__name__in=[DISTRIBUTOR, GPO], entity_type=entity_type)
        auto = others.filter(link_method=LinkMethod.AUTO_MATCH)
        assert auto.exists(), entity_type
        pending = MatchCandidate.objects.filter(entity_type=entity_type, kind="link", status="open")
        unresolved = others.filter(golden_id__isnull=True).exclude(
            pk__in=[int(ref[2:]) for ref in pending.values_list("left_ref", flat=True)]
        )
        errors = list(MatchRun.objects.exclude(error="").values_list("error", flat=True))
        assert not unresolved.exists(), f"{entity_type}: unlinked, not proposed: {list(unresolved[:5])} {errors}"
    assert Crosswalk.objects.filter(system__name=DISTRIBUTOR, entity_type="item").count() > 40
    assert "could not become golden records" not in output

    # The demo logins.
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    for role in (roles.STEWARD, roles.APPROVER, roles.VIEWER, roles.INTEGRATION):
        user = User.objects.get(username=role)
        assert user.check_password(DEMO_PASSWORD)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert not user.is_superuser
    assert Group.objects.get(name=roles.STEWARD).permissions.exists()
    # The integration account's API token is printed once, works, and only its digest is stored.
    token = ApiToken.objects.get(user__username="integration")
    secrets_shown = re.findall(r"mdm_[0-9a-f]{8}_[\w-]+", output)
    assert len(secrets_shown) == 1 and DEMO_PASSWORD in output
    assert authenticate_secret(secrets_shown[0]) == token
    assert token.scopes == ["read", "ingest", "match", "changes"] and token.expires_at is not None

    # --if-empty: nothing happens on a loaded database.
    before = _snapshot()
    out = StringIO()
    call_command("demo_load", "--if-empty", stdout=out, verbosity=0)
    assert "not loaded" in out.getvalue()
    assert _snapshot() == before

    # Without --if-empty a second run is idempotent: every payload is unchanged, no new golden record.
    call_command("demo_load", "--items", "60", stdout=StringIO(), verbosity=0)
    after = _snapshot()
    assert after["batches"] > before["batches"]
    assert {k: v for k, v in after.items() if k != "batches"} == {k: v for k, v in before.items() if k != "batches"}


@pytest.mark.django_db
def test_demo_load_if_empty_on_an_empty_database_loads():
    out = StringIO()
    call_command("demo_load", "--if-empty", "--items", "20", stdout=out, verbosity=0)
    assert SourceSystem.objects.count() == 3
    assert registry.get("unit").model.objects.filter(code="EA").exists()
    assert "Demo logins" in out.getvalue()


@pytest.mark.django_db
def test_a_failed_golden_create_is_reported_not_lost(monkeypatch):
    """An Odoo record that cannot become a golden record is counted and named in the summary."""
    from django.core.exceptions import ValidationError

    from mdm.management.commands import demo_load

    real = demo_load.golden_create_from_source

    def flaky(source_record, **kwargs):
        if source_record.entity_type == "unit" and source_record.payload["code"] == "DZ":
            raise ValidationError({"code": ["refused for the test"]})
        return real(source_record, **kwargs)

    monkeypatch.setattr(demo_load, "golden_create_from_source", flaky)
    out = StringIO()
    call_command("demo_load", "--items", "20", stdout=out, verbosity=0)
    output = out.getvalue()
    assert "1 Odoo record(s) could not become golden records" in output
    assert "unit uom.uom,8: code: refused for the test" in output
    assert not registry.get("unit").model.objects.filter(code="DZ").exists()
    assert registry.get("unit").model.objects.filter(code="EA").exists()
