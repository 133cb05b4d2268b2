"""Inbound pull from the Odoo test server (16-19): initial load, incremental pulls by write_date watermark, ties
within a second, records the hub created skipped, quarantine, transient faults."""

import datetime

import pytest

from mdm.models import Crosswalk, IngestBatch, QuarantinedRecord, SourceRecord, SourceSystem
from sync.inbound import after_watermark, contract_external_id, pages, pull_target
from sync.models import KeyMap, SyncRun, Watermark
from sync.odoo.client import OdooClient
from tests.sync.records import IBAN, drain, odoo_target

pytestmark = pytest.mark.django_db

GLOVE_GTIN = "00841470100667"


def stamp(minutes_ago: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def xid(srv, xmlid):
    return srv.by_xmlid(xmlid)["id"]


def product_type(srv, kind):
    return {"detailed_type": kind} if srv.version < 18 else {"type": kind}


def seed(srv):
    """What an existing Odoo holds: vendors (one archived, one customer), products (a service, one archived),
    vendor prices in two currencies. Written an hour ago (well before the settle window)."""
    srv.clock = lambda: stamp(60)
    us, de = xid(srv, "base.us"), xid(srv, "base.de")
    usd, eur = xid(srv, "base.USD"), xid(srv, "base.EUR")
    units = xid(srv, "uom.product_uom_unit")
    ids = {}
    ids["medline"] = srv.user_create(
        "res.partner",
        {
            "name": "Medline Industries, LP",
            "is_company": True,
            "supplier_rank": 3,
            "vat": "36-1234567",
            "ref": "025483210",
            "street": "3 Lakes Dr",
            "city": "Northfield",
            "zip": "60093",
            "country_id": us,
            "email": "orders@medline.example",
            "phone": "+1 847 949 5500",
        },
    )
    ids["braun"] = srv.user_create(
        "res.partner",
        {
            "name": "B. Braun Melsungen AG",
            "is_company": True,
            "supplier_rank": 1,
            "vat": "DE136695976",
            "ref": "V-0002",
            "street": "Carl-Braun-Strasse 1",
            "city": "Melsungen",
            "zip": "34212",
            "country_id": de,
        },
    )
    srv.user_create("res.partner.bank", {"acc_number": IBAN, "acc_holder_name": "B. Braun", "partner_id": ids["braun"]})
    srv.user_create("res.partner.bank", {"acc_number": "000123456789", "partner_id": ids["medline"]})
    ids["old"] = srv.user_create("res.partner", {"name": "Old Supply Co", "supplier_rank": 1, "active": False})
    ids["customer"] = srv.user_create("res.partner", {"name": "St. Mary's Hospital", "customer_rank": 1})
    ids["glove"] = srv.user_create(
        "product.template",
        {
            "name": "Nitrile exam glove, large",
            "default_code": "MDS195085",
            "barcode": GLOVE_GTIN,
            "uom_id": units,
            **product_type(srv, "consu"),
        },
    )
    ids["gauze"] = srv.user_create(
        "product.template", {"name": "Gauze sponge 4x4", "uom_id": units, "active": False, **product_type(srv, "consu")}
    )
    ids["freight"] = srv.user_create("product.template", {"name": "Freight", **product_type(srv, "service")})
    ids["glove_usd"] = srv.user_create(
        "product.supplierinfo",
        {
            "partner_id": ids["medline"],
            "product_tmpl_id": ids["glove"],
            "price": 12.5,
            "min_qty": 10,
            "currency_id": usd,
            "date_start": "2026-01-01",
            "date_end": "2026-12-31",
        },
    )
    ids["glove_eur"] = srv.user_create(
        "product.supplierinfo",
        {"partner_id": ids["braun"], "product_tmpl_id": ids["glove"], "price": 11.0, "min_qty": 0, "currency_id": eur},
    )
    return ids


def current(system, entity_type, external_id):
    return SourceRecord.objects.get(
        system=system, entity_type=entity_type, external_id=str(external_id), is_current=True
    )


@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_initial_load_then_incremental_pulls(odoo_server, units, steward):
    srv = odoo_server
    ids = seed(srv)
    target = odoo_target(srv, entity_types=(), inbound=True)

    run = pull_target(target, actor=steward)

    assert run.status == "done", run.error
    assert run.kind == SyncRun.Kind.PULL and run.finished_at is not None
    assert run.figures["res.partner"] == {"fetched": 3, "stored": 3, "unchanged": 0, "skipped_own": 0, "rejected": 0}
    assert run.figures["product.template"] == {
        "fetched": 3,
        "stored": 2,
        "unchanged": 0,
        "skipped_own": 0,
        "rejected": 0,
        "skipped_other": 1,
    }
    assert run.figures["product.supplierinfo"] == {
        "fetched": 2,
        "stored": 2,
        "unchanged": 0,
        "skipped_own": 0,
        "rejected": 0,
    }
    assert run.figures["contracts"] == {"stored": 2, "unchanged": 0, "rejected": 0}

    target.refresh_from_db()
    system = target.source_system
    assert (system.name, system.kind, system.trust_rank) == (f"odoo-{srv.version}", "odoo", 1)
    assert set(IngestBatch.objects.filter(system=system).values_list("channel", flat=True)) == {"odoo"}

    medline = current(system, "supplier", ids["medline"])
    assert medline.standardized["legal_name"] == "Medline Industries, LP"
    assert medline.standardized["ein"] == "36-1234567"  # a US Tax ID is an EIN
    assert medline.standardized["duns"] == "025483210"
    assert medline.standardized["addresses"][0] | {"kind": "order_from"} == {
        "kind": "order_from",
        "line1": "3 Lakes Dr",
        "line2": "",
        "city": "Northfield",
        "region": "",
        "postal_code": "60093",
        "country": "US",
        "gln": "",
    }
    assert medline.standardized["contacts"][0]["email"] == "orders@medline.example"
    # an account number without an ABA routing number can't be a hub bank account: listed masked, never clear
    assert "bank_accounts" not in medline.payload
    assert medline.payload["odoo"]["bank_accounts_left_out"] == ["••••6789"]
    assert "000123456789" not in str(medline.payload)

    braun = current(system, "supplier", ids["braun"])
    assert braun.standardized["vat"] == "DE136695976"
    assert "duns" not in braun.payload and braun.payload["odoo"]["ref"] == "V-0002"  # an internal code, not a DUNS
    assert braun.payload["bank_accounts"][0]["iban"]["last4"] == IBAN[-4:]  # sealed by ingest
    assert IBAN not in str(braun.payload) and IBAN not in str(braun.standardized)

    old = current(system, "supplier", ids["old"])
    assert old.payload["odoo"]["active"] is False  # archived vendors come too
    assert not SourceRecord.objects.filter(system=system, external_id=str(ids["customer"])).exists()

    glove = current(system, "item", ids["glove"])
    assert glove.standardized["description"] == "Nitrile exam glove, large"
    assert glove.standardized["manufacturer_part_number"] == "MDS195085"
    assert glove.standardized["base_unit"] == "EA"  # Odoo's own "Units" is the hub's EA
    assert glove.standardized["packaging"][0]["gtin"] == GLOVE_GTIN
    assert current(system, "item", ids["gauze"]).payload["odoo"]["active"] is False
    assert not SourceRecord.objects.filter(system=system, entity_type="item", external_id=str(ids["freight"])).exists()

    usd = current(system, "contract_price", ids["glove_usd"])
    assert usd.payload | {"odoo": None} == {
        "contract": contract_external_id(ids["medline"], "USD"),
        "item": str(ids["glove"]),
        "unit": "EA",
        "price": "12.5000",
        "min_quantity": 10,
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "currency": "USD",
        "odoo": None,
    }
    eur = current(system, "contract_price", ids["glove_eur"])
    assert (eur.payload["min_quantity"], eur.payload["start_date"], eur.payload["end_date"]) == (
        1,
        "2000-01-01",
        "2099-12-31",
    )
    contract = current(system, "contract", contract_external_id(ids["braun"], "EUR"))
    assert contract.standardized | {"number": ""} == {
        "number": "",
        "supplier": str(ids["braun"]),
        "supplier_name": "",
        "kind": "local",
        "gpo_name": "",
        "start_date": "2000-01-01",
        "end_date": "2099-12-31",
        "currency": "EUR",
    }

    marks = {w.model: w for w in Watermark.objects.filter(target=target)}
    assert marks["res.partner"].write_date <= stamp(59)
    assert marks["res.partner"].last_id == max(ids["medline"], ids["braun"], ids["old"])

    # again: nothing new
    again = pull_target(target, actor=steward)
    assert again.status == "done"
    for model in ("res.partner", "product.template", "product.supplierinfo"):
        assert again.figures[model]["fetched"] == 0, model
    assert SourceRecord.objects.filter(system=system).count() == 9

    # a user edits one vendor in Odoo: exactly that one comes, as a new version
    srv.clock = lambda: stamp(30)
    srv.user_write("res.partner", ids["braun"], {"city": "Melsungen (Hessen)"})
    third = pull_target(target, actor=steward)
    assert third.figures["res.partner"] == {"fetched": 1, "stored": 1, "unchanged": 0, "skipped_own": 0, "rejected": 0}
    assert third.figures["product.template"]["fetched"] == third.figures["product.supplierinfo"]["fetched"] == 0
    newer = current(system, "supplier", ids["braun"])
    assert (newer.version, newer.standardized["addresses"][0]["city"]) == (2, "Melsungen (Hessen)")
    assert Crosswalk.objects.filter(system=system, entity_type="supplier").count() == 3


def test_records_sharing_a_second_are_neither_lost_nor_repeated(odoo_server, units, steward):
    srv = odoo_server
    second = stamp(60)
    srv.clock = lambda: second
    made = [srv.user_create("res.partner", {"name": f"Vendor {n}", "supplier_rank": 1}) for n in range(7)]
    target = odoo_target(srv, entity_types=(), inbound=True)

    run = pull_target(target, actor=steward, page_size=3, models=("res.partner",))

    assert run.figures["res.partner"]["fetched"] == 7 and run.figures["res.partner"]["stored"] == 7
    mark = Watermark.objects.get(target=target, model="res.partner")
    assert (mark.write_date, mark.last_id) == (second, max(made))

    # written in the very second of the watermark, with a higher id: not lost
    late = srv.user_create("res.partner", {"name": "Vendor late", "supplier_rank": 1})
    run = pull_target(target, actor=steward, page_size=3, models=("res.partner",))
    assert run.figures["res.partner"]["fetched"] == 1
    assert SourceRecord.objects.filter(entity_type="supplier", external_id=str(late)).count() == 1


def test_paging_inside_one_second_follows_ids_not_odoos_order(odoo_server):
    """Odoo sorts a second's records by their hidden microseconds; the pager reads the rest of the second by id."""
    srv = odoo_server
    second = stamp(60)
    srv.clock = lambda: second
    made = [srv.user_create("res.partner", {"name": f"Vendor {n}", "supplier_rank": 1}) for n in range(5)]
    client = OdooClient(srv.url, srv.db, srv.login, srv.api_key)
    seen = []
    for rows, mark in pages(client, "res.partner", ["name"], domain=[["supplier_rank", ">", 0]], page_size=2):
        seen.extend(row["id"] for row in rows)
        assert mark[0] == second
    assert seen == made
    assert after_watermark("", 0) == [] and after_watermark("", 4) == [["id", ">", 4]]
    assert after_watermark("2026-01-01 10:00:59", 4)[1] == ["write_date", ">=", "2026-01-01 10:01:00"]


def test_recent_records_are_read_again_until_they_settle(odoo_server, units, steward):
    srv = odoo_server
    srv.clock = lambda: stamp(60)
    settled = srv.user_create("res.partner", {"name": "Settled vendor", "supplier_rank": 1})
    srv.clock = lambda: stamp(1)  # inside the settle window: a longer Odoo transaction may still commit there
    fresh = srv.user_create("res.partner", {"name": "Fresh vendor", "supplier_rank": 1})
    target = odoo_target(srv, entity_types=(), inbound=True)

    first = pull_target(target, actor=steward, models=("res.partner",))
    assert first.figures["res.partner"]["stored"] == 2
    mark = Watermark.objects.get(target=target, model="res.partner")
    assert mark.last_id == settled  # not moved onto the fresh record

    second = pull_target(target, actor=steward, models=("res.partner",))
    assert second.figures["res.partner"] == {"fetched": 1, "stored": 0, "unchanged": 1, "skipped_own": 0, "rejected": 0}
    assert SourceRecord.objects.filter(entity_type="supplier", external_id=str(fresh)).count() == 1

    third = pull_target(target, actor=steward, models=("res.partner",), settle_seconds=0)
    assert third.figures["res.partner"]["fetched"] == 1
    assert Watermark.objects.get(target=target, model="res.partner").last_id == fresh
    assert pull_target(target, actor=steward, models=("res.partner",)).figures["res.partner"]["fetched"] == 0


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_records_the_hub_created_do_not_come_back(odoo_server, supplier, make_item, make_price, steward):
    srv = odoo_server
    item = make_item("Nebulizer kit, adult", part="NEB-100", gtins=("00841470100667", "", ""))
    make_price(item, amount="25.00", unit="BX")
    target = odoo_target(srv, inbound=True)
    drain(target)
    partner = KeyMap.objects.get(target=target, entity_type="supplier")
    product = KeyMap.objects.get(target=target, entity_type="item")
    assert KeyMap.objects.filter(target=target, entity_type="contract_price").exists()

    srv.clock = lambda: stamp(60)
    # an Odoo user edits the hub's vendor and adds a vendor price of their own on the hub's product
    srv.user_write("res.partner", int(partner.target_ref), {"phone": "+1 800 000 0000"})
    line = srv.user_create(
        "product.supplierinfo",
        {
            "partner_id": int(partner.target_ref),
            "product_tmpl_id": int(product.target_ref),
            "price": 2.25,
            "min_qty": 1,
            "currency_id": xid(srv, "base.USD"),
        },
    )
    # delivered records were written "now": age them so they are past the settle window
    run = pull_target(target, actor=steward, settle_seconds=0)

    assert run.status == "done", run.error
    assert run.figures["res.partner"]["skipped_own"] == 1 and run.figures["res.partner"]["stored"] == 0
    assert run.figures["product.template"]["skipped_own"] == 1 and run.figures["product.template"]["stored"] == 0
    assert run.figures["product.supplierinfo"]["skipped_own"] == 1
    assert run.figures["product.supplierinfo"]["stored"] == 1
    system = target.source_system
    assert not SourceRecord.objects.filter(system=system, entity_type__in=("supplier", "item")).exists()
    price = current(system, "contract_price", line)
    # the hub's product has no source record here: the price names the golden item by what the hub sent
    assert (price.payload["item_gtin"], price.payload["item_part_number"]) == (GLOVE_GTIN, "NEB-100")
    assert price.payload["contract"] == contract_external_id(int(partner.target_ref), "USD")


def test_invalid_payloads_land_in_quarantine_with_reasons(odoo_server, units, steward):
    srv = odoo_server
    srv.clock = lambda: stamp(60)
    bad = srv.user_create("res.partner", {"name": "Bad VAT GmbH", "supplier_rank": 1, "vat": "DE123"})
    good = srv.user_create("res.partner", {"name": "Good GmbH", "supplier_rank": 1})
    product = srv.user_create(
        "product.template", {"name": "Saline 0.9%", "uom_id": xid(srv, "uom.product_uom_unit"), "barcode": "123"}
    )
    line = srv.user_create(
        "product.supplierinfo",
        {
            "partner_id": good,
            "product_tmpl_id": product,
            "price": 1.0,
            "min_qty": 2.5,
            "currency_id": xid(srv, "base.USD"),
        },
    )
    target = odoo_target(srv, entity_types=(), inbound=True)

    run = pull_target(target, actor=steward)

    assert run.status == "done"
    assert run.figures["res.partner"] == {"fetched": 2, "stored": 1, "unchanged": 0, "skipped_own": 0, "rejected": 1}
    assert run.figures["product.template"]["rejected"] == 1
    assert run.figures["product.supplierinfo"]["rejected"] == 1
    quarantined = {
        (q.entity_type, q.external_id): q for q in QuarantinedRecord.objects.filter(system=target.source_system)
    }
    assert "vat" in quarantined["supplier", str(bad)].errors
    assert "packaging" in quarantined["item", str(product)].errors
    assert "min_quantity" in quarantined["contract_price", str(line)].errors
    # the watermark moved past them: fixing them at Odoo brings them back
    srv.clock = lambda: stamp(30)
    srv.user_write("res.partner", bad, {"vat": "DE136695976"})
    fixed = pull_target(target, actor=steward)
    assert fixed.figures["res.partner"]["stored"] == 1
    assert QuarantinedRecord.objects.get(pk=quarantined["supplier", str(bad)].pk).status == "superseded"


def test_a_transient_fault_fails_the_run_and_keeps_the_watermark(odoo_server, units, steward):
    srv = odoo_server
    ids = seed(srv)
    target = odoo_target(srv, entity_types=(), inbound=True)
    srv.inject("serialization", times=None, model="product.template", method="search_read")

    run = pull_target(target, actor=steward)

    assert run.status == "failed"
    assert run.error.startswith("product.template:") and "serializ" in run.error.lower()
    marks = {w.model: w for w in Watermark.objects.filter(target=target)}
    assert marks["res.partner"].last_id == max(ids["medline"], ids["braun"], ids["old"])
    assert (marks["product.template"].write_date, marks["product.template"].last_id) == ("", 0)
    assert marks["product.template"].last_error
    assert "product.supplierinfo" not in marks

    srv.clear_faults()
    srv.set_down(True)
    down = pull_target(target, actor=steward)
    assert down.status == "failed" and down.error

    srv.set_down(False)
    after = pull_target(target, actor=steward)
    assert after.status == "done"
    assert after.figures["res.partner"]["fetched"] == 0
    assert after.figures["product.template"]["fetched"] == 3
    assert after.figures["product.supplierinfo"]["stored"] == 2
    assert SyncRun.objects.filter(target=target, kind="pull").count() == 3


def test_a_limit_stops_early_and_the_next_pull_goes_on(odoo_server, units, steward):
    srv = odoo_server
    srv.clock = lambda: stamp(60)
    made = [srv.user_create("res.partner", {"name": f"Vendor {n}", "supplier_rank": 1}) for n in range(5)]
    target = odoo_target(srv, entity_types=(), inbound=True)

    first = pull_target(target, actor=steward, limit=2, page_size=2, models=("res.partner",))
    assert first.figures["res.partner"]["fetched"] == 2
    second = pull_target(target, actor=steward, page_size=2, models=("res.partner",))
    assert second.figures["res.partner"]["fetched"] == 3
    assert sorted(
        int(x) for x in SourceRecord.objects.filter(entity_type="supplier").values_list("external_id", flat=True)
    ) == sorted(made)


def test_only_odoo_targets_with_inbound_on_are_pulled(odoo_server, steward):
    with pytest.raises(ValueError, match="inbound"):
        pull_target(odoo_target(odoo_server, entity_types=()), actor=steward)
    assert not SyncRun.objects.exists()


def test_an_existing_source_system_is_used(odoo_server, odoo, steward):
    srv = odoo_server
    srv.clock = lambda: stamp(60)
    srv.user_create("res.partner", {"name": "Vendor", "supplier_rank": 1})
    target = odoo_target(srv, entity_types=(), inbound=True, source_system=odoo)
    pull_target(target, actor=steward, models=("res.partner",))
    assert SourceRecord.objects.filter(system=odoo, entity_type="supplier").count() == 1
    assert SourceSystem.objects.count() == 1
