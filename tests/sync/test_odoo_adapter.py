"""The Odoo adapter against the Odoo test server (16-19): what lands where, refusals, isolation of a bad row,
transient faults, a lost response without a duplicate, retire = archive, merge = repoint then archive."""

import copy
import datetime
import json

import pytest

from mdm.services.changes import change_request_approve, merge_propose, retire_propose
from suppliers.services import supplier_update
from sync.adapters.base import DeliveryItem, KeyRef, TransientError
from sync.models import Delivery, KeyMap, OutboxEvent
from sync.odoo.adapter import OdooAdapter
from sync.odoo.mappers import Mapper, MappingError, compared_fields, mapper_for
from tests.sync.records import IBAN, drain, odoo_target
from uom.services import unit_create

pytestmark = pytest.mark.django_db

NEW_IBAN = "GB33BUKB20201555555555"


def m2o(value):
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value or None


def xid(srv, xmlid):
    record = srv.by_xmlid(xmlid)
    return record["id"] if record else None


def delivery_item(target, adapter, entity_type, object_id, *, change_type=None, payload=None):
    """The DeliveryItem the engine would hand over for the record's latest event."""
    event = OutboxEvent.objects.filter(entity_type=entity_type, object_id=object_id).latest("id")
    payload = payload if payload is not None else event.payload
    keys = {
        (k.entity_type, k.object_id): KeyRef(k.target_model, k.target_ref, k.external_id)
        for k in KeyMap.objects.filter(target=target)
    }
    held = keys.get((entity_type, object_id))
    return DeliveryItem(
        delivery_id=0,
        event_id=str(event.event_id),
        entity_type=entity_type,
        object_id=object_id,
        version=event.version,
        change_type=change_type or event.change_type,
        payload=payload,
        target_ref=held.target_ref if held else "",
        external_id=held.external_id if held else "",
        refs={dep: keys[dep] for dep in adapter.dependencies(entity_type, payload) if dep in keys},
    )


# -- mapping (no server) -----------------------------------------------------------------------------------------


def test_unit_sizes_follow_each_versions_convention():
    box = {"id": 7, "code": "B100", "name": "Box of 100", "category": "Unit", "ratio": "100"}
    sixteen = mapper_for(16).map("unit", box).row.values
    assert (sixteen["factor"], sixteen["uom_type"], sixteen["category_id/id"]) == (
        "0.01",
        "bigger",
        "uom.product_uom_categ_unit",
    )
    nineteen = mapper_for(19).map("unit", box).row.values
    assert (nineteen["relative_factor"], nineteen["relative_uom_id/id"]) == ("100", "uom.product_uom_unit")
    assert "factor" not in nineteen and "category_id/id" not in nineteen
    minute = {"id": 8, "code": "MIN", "name": "Minute", "category": "Time", "ratio": "0.0166666666666667"}
    assert float(mapper_for(17).map("unit", minute).row.values["factor"]) == pytest.approx(480)  # 8-hour day
    milligram = {"id": 9, "code": "MG", "name": "Milligram", "category": "Weight", "ratio": "0.000001"}
    assert mapper_for(18).map("unit", milligram).row.values["factor"] == "1000000"
    with pytest.raises(MappingError, match="packaging"):
        mapper_for(16).map("unit", {"id": 3, "code": "BX", "name": "Box", "category": None, "ratio": None})
    assert mapper_for(16).map("unit", {"id": 1, "code": "EA", "ratio": "1"}).standard_xmlid == "uom.product_uom_unit"


def test_retired_price_line_ends_yesterday_when_the_model_has_no_active_field():
    line = {
        "id": 5,
        "supplier_id": 1,
        "item_id": 2,
        "contract": {"number": "VZ-1", "currency": "USD"},
        "currency": "USD",
        "price_per_base_unit": "2.5",
        "min_quantity_base": "20",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "base_unit": {"id": 3, "code": "EA"},
    }
    mapper = Mapper(today=datetime.date(2026, 6, 15))
    assert mapper.map("contract_price", line).row.values["date_end"] == "2026-12-31"
    assert mapper.map("contract_price", line, archive=True).row.values["date_end"] == "2026-06-14"
    assert "active" not in mapper.map("contract_price", line, archive=True).row.values
    sent = {"partner_id/id": "__mdm__.supplier_1", "price": "2.5", "_bank_accounts": []}
    assert compared_fields(sent) == {"partner_id": "__mdm__.supplier_1", "price": "2.5"}


# -- against the server ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_all_four_entity_types_land_with_each_versions_fields(
    odoo_server, supplier, make_item, make_price, units, steward
):
    srv = odoo_server
    v = srv.version
    target = odoo_target(srv)
    gross = unit_create(code="GRO", name="Gross", dimension="count", actor=steward, reason="test")
    item = make_item("Nebulizer kit, adult", part="NEB-100", gtins=("00841470100667", "", ""))
    price = make_price(item, amount="25.00", unit="BX", min_quantity=2)
    uoms_before = srv.count("uom.uom")

    figures = drain(target)

    # units: Odoo's own for EA and g (and mL in 19), ours for the rest; packaging units refused
    unit_xmlid = dict(KeyMap.objects.filter(target=target, entity_type="unit").values_list("object_id", "external_id"))
    assert unit_xmlid[units["EA"].pk] == "uom.product_uom_unit"
    assert unit_xmlid[units["G"].pk] == "uom.product_uom_gram"
    assert unit_xmlid[gross.pk] == f"__mdm__.unit_{gross.pk}"
    # 19.0 ships a millilitre (the later master branch, which the server follows, does not): ours when Odoo lacks it
    odoo_ml = srv.by_xmlid("uom.product_uom_milliliter") is not None
    assert unit_xmlid[units["ML"].pk] == ("uom.product_uom_milliliter" if odoo_ml else f"__mdm__.unit_{units['ML'].pk}")
    assert srv.count("uom.uom") == uoms_before + (1 if odoo_ml else 2)
    dead = Delivery.objects.filter(target=target, status="dead")
    assert sorted(dead.values_list("object_id", flat=True)) == sorted([units["BX"].pk, units["CS"].pk])
    assert all("packaging" in d.last_error and d.error_kind == "permanent" for d in dead)
    assert figures["dead"] == 2
    gross_uom = srv.by_xmlid(f"__mdm__.unit_{gross.pk}")
    if v >= 19:
        assert float(gross_uom["relative_factor"]) == 144
        assert m2o(gross_uom["relative_uom_id"]) == xid(srv, "uom.product_uom_unit")
    else:
        assert m2o(gross_uom["category_id"]) == xid(srv, "uom.product_uom_categ_unit")
        assert gross_uom["uom_type"] == "bigger" and float(gross_uom["factor"]) == pytest.approx(1 / 144)
        ml = srv.by_xmlid(f"__mdm__.unit_{units['ML'].pk}")
        assert m2o(ml["category_id"]) == xid(srv, "uom.product_uom_categ_vol")
        assert ml["uom_type"] == "smaller" and float(ml["factor"]) == pytest.approx(1000)
    if v >= 19 and not odoo_ml:
        ml = srv.by_xmlid(f"__mdm__.unit_{units['ML'].pk}")
        assert float(ml["relative_factor"]) == pytest.approx(0.001)
        assert m2o(ml["relative_uom_id"]) == xid(srv, "uom.product_uom_litre")

    partner = srv.by_xmlid(f"__mdm__.supplier_{supplier.pk}")
    assert partner["name"] == "Medline Industries, LP" and partner["is_company"] and partner["active"]
    assert (partner["ref"], partner["city"], partner["street"]) == ("025483210", "Northfield", "3 Lakes Dr")
    assert m2o(partner["country_id"]) == xid(srv, "base.us") and partner["supplier_rank"] == 1
    account = supplier.bank_accounts.get()
    bank = srv.by_xmlid(f"__mdm__.supplier_bank_{account.pk}")
    assert bank["acc_number"] == IBAN and m2o(bank["partner_id"]) == partner["id"]

    product = srv.by_xmlid(f"__mdm__.item_{item.pk}")
    assert (product["name"], product["default_code"], product["barcode"]) == (
        "Nebulizer kit, adult",
        "NEB-100",
        "00841470100667",
    )
    assert m2o(product["uom_id"]) == xid(srv, "uom.product_uom_unit") and product["purchase_ok"]
    if v <= 18:
        assert m2o(product["uom_po_id"]) == xid(srv, "uom.product_uom_unit")
        assert m2o(product["categ_id"]) == xid(srv, "product.product_category_all")
    else:
        assert "uom_po_id" not in product
    if v <= 17:
        assert product["detailed_type"] in ("product", "consu")
    else:
        assert product["type"] == "consu" and "detailed_type" not in product

    line = srv.by_xmlid(f"__mdm__.contract_price_{price.pk}")
    assert m2o(line["partner_id"]) == partner["id"] and m2o(line["product_tmpl_id"]) == product["id"]
    assert float(line["price"]) == pytest.approx(2.5) and float(line["min_qty"]) == pytest.approx(20)
    assert m2o(line["currency_id"]) == xid(srv, "base.USD")
    assert (str(line["date_start"]), str(line["date_end"]), line["product_code"]) == (
        "2026-01-01",
        "2026-12-31",
        "VZ-2026-001",
    )
    if v >= 19:
        assert m2o(line["product_uom_id"]) == xid(srv, "uom.product_uom_unit")

    # what the key map keeps for reconciliation: the values sent, bank numbers masked; no secret anywhere
    key = KeyMap.objects.get(target=target, entity_type="supplier", object_id=supplier.pk)
    assert key.target_model == "res.partner" and key.target_ref == str(partner["id"])
    assert key.last_payload["name"] == "Medline Industries, LP"
    assert key.last_payload["_bank_accounts"][0]["acc_number"] == "••••3000"
    kept = json.dumps(list(KeyMap.objects.values_list("last_payload", flat=True)))
    excerpts = "".join(d.request_excerpt + d.response_excerpt + d.last_error for d in Delivery.objects.all())
    for text in (kept, excerpts):
        assert IBAN not in text and srv.api_key not in text


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_standard_units_are_odoos_own_records_never_written_or_archived(odoo_server, units):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("unit",))
    adapter = OdooAdapter(target)
    before = srv.count("uom.uom")
    (each,) = adapter.deliver([delivery_item(target, adapter, "unit", units["EA"].pk)])
    assert each.ok and each.external_id == "uom.product_uom_unit"
    assert each.target_ref == str(xid(srv, "uom.product_uom_unit"))
    (retired,) = adapter.deliver([delivery_item(target, adapter, "unit", units["EA"].pk, change_type="retire")])
    assert retired.ok
    assert srv.count("uom.uom") == before and srv.by_xmlid("uom.product_uom_unit")["active"]
    assert not [c for c in srv.calls if c.get("model") == "uom.uom" and c.get("method") in ("load", "write")]


def test_a_bad_row_is_isolated_and_the_good_rows_land(odoo_server, make_item, units):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("unit", "item"))
    gtins = {1: ("00841470100667", "", ""), 2: ("", "", ""), 3: ("", "", "")}
    items = [make_item(f"Suction catheter {n}", part=f"SC-{n}", gtins=gtins[n]) for n in (1, 2, 3)]
    drain(target)  # units and all three items
    adapter = OdooAdapter(target)
    batch = [delivery_item(target, adapter, "item", i.pk) for i in items]
    # an update that gives the second item the first one's barcode: Odoo's barcode is unique
    payload = copy.deepcopy(batch[1].payload)
    payload["gtin"], payload["description"] = batch[0].payload["gtin"], "Suction catheter 2, renamed"
    batch[1] = delivery_item(target, adapter, "item", items[1].pk, payload=payload)
    batch[0].payload = {**batch[0].payload, "description": "Suction catheter 1, renamed"}
    batch[2].payload = {**batch[2].payload, "description": "Suction catheter 3, renamed"}
    start = len(srv.calls)

    outcomes = adapter.deliver(batch)

    assert [o.ok for o in outcomes] == [True, False, True]
    assert not outcomes[1].transient and "barcode" in outcomes[1].error.lower()
    assert outcomes[1].request_excerpt and outcomes[1].external_id == f"__mdm__.item_{items[1].pk}"
    names = {srv.by_xmlid(f"__mdm__.item_{i.pk}")["name"] for i in items}
    assert names == {"Suction catheter 1, renamed", "Suction catheter 2", "Suction catheter 3, renamed"}
    loads = [c for c in srv.calls[start:] if c.get("model") == "product.template" and c.get("method") == "load"]
    assert [c["rows"] for c in loads] == [3, 2, 1]  # the batch, the unflagged rows together, the bad row alone


def test_a_retry_after_a_lost_response_never_creates_a_second_record(odoo_server, make_item, units):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("unit", "item"))
    item = make_item("Oxygen mask, adult", part="OM-1")
    products = srv.count("product.template")
    srv.inject("drop_after_commit", model="product.template", method="load")

    first = drain(target)

    assert first.get("retried") == 1 and srv.by_xmlid(f"__mdm__.item_{item.pk}")  # committed, answer lost
    delivery = Delivery.objects.get(target=target, entity_type="item")
    assert delivery.status == "failed" and delivery.error_kind == "transient"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    second = drain(target)
    assert second.get("delivered") == 1
    assert srv.count("product.template") == products + 1
    assert len(srv.records("product.template", [("default_code", "=", "OM-1")])) == 1
    delivery.refresh_from_db()
    assert delivery.target_ref == str(srv.by_xmlid(f"__mdm__.item_{item.pk}")["id"])


@pytest.mark.parametrize("fault", ["down", "http_500", "serialization", "lock"])
def test_transient_faults_raise_transient_error_for_the_batch(odoo_server, make_item, units, fault):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("unit", "item"))
    item = make_item("IV start kit", part="IV-1")
    drain(target)
    adapter = OdooAdapter(target)
    batch = [delivery_item(target, adapter, "item", item.pk)]
    if fault == "down":
        srv.set_down(True)
    else:
        srv.inject(fault, model="product.template", method="load")
    with pytest.raises(TransientError) as caught:
        adapter.deliver(batch)
    assert srv.api_key not in str(caught.value) + caught.value.request_excerpt + caught.value.response_excerpt
    srv.set_down(False)
    assert OdooAdapter(target).deliver(batch)[0].ok


def test_a_wrong_api_key_is_a_permanent_refusal(odoo_server, make_item, units):
    target = odoo_target(odoo_server, entity_types=("unit",))
    target.secret = "rotated-away"
    target.save()
    adapter = OdooAdapter(target)
    (outcome,) = adapter.deliver([delivery_item(target, adapter, "unit", units["EA"].pk)])
    assert not outcome.ok and not outcome.transient and "AccessDenied" in outcome.error
    assert "rotated-away" not in outcome.error + outcome.response_excerpt


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_retire_archives_and_a_retired_price_line_ends(odoo_server, make_item, make_price, steward, approver):
    srv = odoo_server
    target = odoo_target(srv)
    item = make_item("Tracheostomy tube 7.0", part="TT-70")
    price = make_price(item, amount="30.00", unit="BX")
    drain(target)
    change_request_approve(
        retire_propose(entity_type="item", object_id=item.pk, actor=steward, reason="discontinued"), actor=approver
    )
    drain(target)
    product = srv.by_xmlid(f"__mdm__.item_{item.pk}")
    assert product is not None and product["active"] is False  # archived, not unlinked
    assert KeyMap.objects.get(target=target, entity_type="item", object_id=item.pk).archived

    adapter = OdooAdapter(target, today=datetime.date(2026, 6, 15))
    (ended,) = adapter.deliver([delivery_item(target, adapter, "contract_price", price.pk, change_type="retire")])
    assert ended.ok
    line = srv.by_xmlid(f"__mdm__.contract_price_{price.pk}")
    assert str(line["date_end"]) == "2026-06-14" and line["id"] == int(ended.target_ref)


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_merge_repoints_vendor_prices_then_archives_the_merged_partner(
    odoo_server, make_supplier, make_item, units, steward, approver
):
    srv = odoo_server
    target = odoo_target(srv)
    keep, dup = make_supplier("Cardinal Health"), make_supplier("CARDINAL HEALTH INC")
    item = make_item("Sterile gauze 4x4", part="GZ-44")
    drain(target)
    dup_partner, keep_partner = xid(srv, f"__mdm__.supplier_{dup.pk}"), xid(srv, f"__mdm__.supplier_{keep.pk}")
    unit = xid(srv, "uom.product_uom_unit")
    # a vendor price an Odoo buyer entered by hand, against the duplicate
    line = {
        "partner_id": dup_partner,
        "product_tmpl_id": xid(srv, f"__mdm__.item_{item.pk}"),
        "price": 0.41,
        "min_qty": 1,
        "currency_id": xid(srv, "base.USD"),
    }
    if srv.version >= 19:
        line["product_uom_id"] = unit
    own_line = srv.user_create("product.supplierinfo", line)
    start = len(srv.calls)

    cr = merge_propose(entity_type="supplier", survivor_id=keep.pk, merged_id=dup.pk, actor=steward, reason="dup")
    change_request_approve(cr, actor=approver)
    drain(target)

    (moved,) = srv.records("product.supplierinfo", [("id", "=", own_line)])
    assert m2o(moved["partner_id"]) == keep_partner
    merged = srv.by_xmlid(f"__mdm__.supplier_{dup.pk}")
    assert merged["active"] is False and srv.by_xmlid(f"__mdm__.supplier_{keep.pk}")["active"]
    steps = [
        (c["model"], c["method"])
        for c in srv.calls[start:]
        if c.get("model") in ("product.supplierinfo", "res.partner")
    ]
    assert steps.index(("product.supplierinfo", "write")) < steps.index(("res.partner", "load"))
    assert not [s for s in steps if s[1] == "unlink"]


def test_a_bank_account_the_hub_no_longer_has_is_archived(odoo_server, supplier, steward):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("supplier",))
    drain(target)
    old = supplier.bank_accounts.get()
    supplier_update(
        supplier,
        changes={"bank_accounts": [{"iban": NEW_IBAN, "holder_name": "Medline Industries"}]},
        actor=steward,
        reason="new bank",
    )
    drain(target)
    assert srv.by_xmlid(f"__mdm__.supplier_bank_{old.pk}")["active"] is False
    new = supplier.bank_accounts.get()
    assert srv.by_xmlid(f"__mdm__.supplier_bank_{new.pk}")["acc_number"] == NEW_IBAN
    key = KeyMap.objects.get(target=target, entity_type="supplier", object_id=supplier.pk)
    assert [b["id"] for b in key.last_payload["_bank_accounts"]] == [f"__mdm__.supplier_bank_{new.pk}"]


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_check_detects_and_stores_the_version(odoo_server):
    target = odoo_target(odoo_server, entity_types=())
    found = OdooAdapter(target).check()
    target.refresh_from_db()
    assert target.detected_version.startswith(f"{odoo_server.version}.") and target.version_checked_at
    assert found["major"] == odoo_server.version == target.major_version
    assert found["protocol"] == ("json2" if odoo_server.version >= 19 else "jsonrpc")


@pytest.mark.parametrize("odoo_server", [17, 19], indirect=True)
def test_the_targets_company_goes_on_products_and_vendor_prices(odoo_server, supplier, make_item, make_price):
    srv = odoo_server
    target = odoo_target(srv, company_id=1)
    item = make_item("Foley catheter 16 FR", part="FC-16")
    price = make_price(item, amount="12.00", unit="EA")
    drain(target)
    assert m2o(srv.by_xmlid(f"__mdm__.item_{item.pk}")["company_id"]) == 1
    assert m2o(srv.by_xmlid(f"__mdm__.contract_price_{price.pk}")["company_id"]) == 1
    assert m2o(srv.by_xmlid(f"__mdm__.supplier_{supplier.pk}")["company_id"]) is None  # partners stay shared
