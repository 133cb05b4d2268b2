"""The item stewardship adapter: snapshot, validate, packaging replacement, GTIN moves on merge, search."""

import json

import pytest
from django.core.exceptions import ValidationError

from items import stewardship
from items.models import Item, ItemPackagingLevel
from items.serializers import ItemPayloadSerializer
from items.services import item_create, item_update
from mdm import registry
from mdm.models import ChangeRequest
from mdm.services.changes import change_request_approve, merge_propose, same_value, unmerge_propose
from mdm.services.ingest import to_json
from tests.items.conftest import GUDID_BOX, GUDID_CASE, GUDID_EACH
from uom.services import unit_create

pytestmark = pytest.mark.django_db

ADAPTER = stewardship.ADAPTER
NDC = "00409272001"  # Hospira, written 0409-2720-01 on the label


@pytest.fixture
def make_item(steward, units):
    def make(description="Blom tracheostomy tube", *, gtins=("", "", ""), part="313-71-015", **extra):
        return item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": part,
                "item_type": "med_surg",
                "unspsc": "42271706",
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": gtins[0]},
                    {"unit": "BX", "quantity": 10, "gtin": gtins[1]},
                    {"unit": "CS", "quantity": 100, "gtin": gtins[2]},
                ],
                **extra,
            },
            actor=steward,
            reason="test",
        )

    return make


@pytest.fixture
def ml(steward):
    return unit_create(code="ML", name="Millilitre", dimension="volume", actor=steward, reason="test")


@pytest.fixture
def drug(steward, units, ml):
    return item_create(
        data={
            "description": "Sodium chloride 0.9% injection, 10 mL vial",
            "item_type": "drug",
            "ndc": NDC,
            "base_unit": "EA",
            "content_quantity": "10",
            "content_unit": "ML",
        },
        actor=steward,
        reason="test",
    )


def messages(exc) -> dict:
    return exc.value.message_dict


def test_the_adapter_is_registered_with_the_item_spec():
    assert registry.get("item").stewardship is ADAPTER
    assert ADAPTER.fields[-1] == "packaging" and "status" not in ADAPTER.fields
    assert ADAPTER.sensitive == () and set(ADAPTER.labels) == set(ADAPTER.fields)


def test_snapshot_is_json_with_unit_codes_and_packaging(make_item, drug):
    item = make_item(gtins=(GUDID_EACH, GUDID_BOX, ""))
    snap = ADAPTER.snapshot(item)
    json.dumps(snap)
    assert snap["base_unit"] == "EA" and snap["content_quantity"] is None and snap["content_unit"] == ""
    assert snap["sterile"] is None and snap["manufacturer_name"] == "PULMODYNE INC"
    assert snap["packaging"] == [
        {"level": 0, "unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
        {"level": 1, "unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
        {"level": 2, "unit": "CS", "quantity": 100, "gtin": ""},
    ]
    drug_snap = ADAPTER.snapshot(drug)
    assert (drug_snap["content_quantity"], drug_snap["content_unit"], drug_snap["ndc"]) == ("10", "ML", NDC)


def test_validate_normalizes_to_json_values(drug, ml):
    out = ADAPTER.validate(
        {
            "ndc": "0409-2720-01",
            "content_quantity": "30.000",
            "content_unit": "ml",
            "sterile": "true",
            "unspsc": 51191905,
        },
        drug,
    )
    assert out == {"ndc": NDC, "content_quantity": "30", "content_unit": "ML", "sterile": True, "unspsc": "51191905"}
    snap = ADAPTER.snapshot(drug)
    assert all(same_value(snap[name], value) for name, value in ADAPTER.validate(snap, drug).items())


@pytest.mark.parametrize(
    "changes, key, text",
    [
        ({"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 10, "gtin": "10841470100665"}]},
         "packaging[1].gtin", "check digit"),
        ({"ndc": "0409-2720-01"}, "ndc", "only allowed for drugs"),
        ({"colour": "blue"}, "colour", "Not an item field"),
        ({"item_type": "gadget"}, "item_type", "not a valid choice"),
        ({"base_unit": "FURLONG"}, "base_unit", "Unknown unit"),
        ({"base_unit": "BX"}, "base_unit", "base unit 'BX'"),
        ({"content_quantity": "10"}, "content_quantity", "an amount and a unit"),
        ({"sterile": "perhaps"}, "sterile", "true, false"),
        ({"packaging": [{"unit": "BX", "quantity": 1}]}, "packaging[0].unit", "item's base unit 'EA'"),
        ({"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": "ten"}]},
         "packaging[1].quantity", "whole number"),
        ({"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "EA", "quantity": 10}]},
         "packaging[1].unit", "its own unit"),
        ({"packaging": [{"unit": "EA", "quantity": 1}, {"level": 2, "unit": "BX", "quantity": 10}]},
         "packaging[1].level", "base first"),
        ({"packaging": []}, "packaging", "at least its base level"),
    ],
)  # fmt: skip
def test_validate_reports_each_problem_on_its_field(make_item, changes, key, text):
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate(changes, make_item())
    assert key in messages(exc), messages(exc)
    assert text in " ".join(messages(exc)[key])


def test_a_gtin_of_another_item_is_refused(make_item):
    make_item("Other tube", gtins=(GUDID_EACH, "", ""), part="X-1")
    item = make_item()
    packaging = ADAPTER.snapshot(item)["packaging"]
    packaging[0]["gtin"] = GUDID_EACH[2:]  # the same GTIN written as a UPC-A (GTIN-12)
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"packaging": packaging}, item)
    assert "already belongs to item" in messages(exc)["packaging[0].gtin"][0]


def test_changing_the_type_of_a_drug_with_an_ndc_is_refused_on_the_type(drug):
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"item_type": "med_surg"}, drug)
    assert list(messages(exc)) == ["item_type"] and "only allowed for drugs" in messages(exc)["item_type"][0]
    assert ADAPTER.validate({"item_type": "med_surg", "ndc": ""}, drug) == {"item_type": "med_surg", "ndc": ""}


def test_update_writes_history_with_the_reason_and_bumps_the_version(make_item, steward):
    item = make_item()
    version = item.version
    ADAPTER.update(item, ADAPTER.validate({"short_name": "Blom trach 313"}, item), actor=steward, reason="nurses' name")
    item = Item.objects.get(pk=item.pk)
    assert (item.short_name, item.version) == ("Blom trach 313", version + 1)
    latest = item.history.first()
    assert latest.history_change_reason == "nurses' name" and latest.history_user == steward


def test_packaging_is_replaced_level_by_level(make_item, steward):
    item = make_item(gtins=(GUDID_EACH, GUDID_BOX, GUDID_CASE))
    each, box, case = item.packaging_levels.order_by("level")
    version = item.version
    changes = ADAPTER.validate(
        {
            "packaging": [
                # the GTINs of the each and the box trade places: the unique GTIN must not trip the update
                {"unit": "EA", "quantity": 1, "gtin": GUDID_BOX},
                {"unit": "BX", "quantity": "12", "gtin": GUDID_EACH},
            ]
        },
        item,
    )
    assert changes["packaging"][1] == {"level": 1, "unit": "BX", "quantity": 12, "gtin": GUDID_EACH}
    ADAPTER.update(item, changes, actor=steward, reason="new box size")

    rows = list(item.packaging_levels.order_by("level").values_list("pk", "unit__code", "quantity", "gtin"))
    assert rows == [(each.pk, "EA", 1, GUDID_BOX), (box.pk, "BX", 12, GUDID_EACH)]  # the rows stay, their history too
    assert not ItemPackagingLevel.objects.filter(pk=case.pk).exists()
    gone = ItemPackagingLevel.history.get(id=case.pk, history_type="-")
    assert gone.history_change_reason == "new box size" and gone.history_user == steward
    assert Item.objects.get(pk=item.pk).version == version + 1
    assert box.history.filter(history_change_reason="new box size").exists()


def test_a_new_base_unit_needs_new_packaging(make_item, steward):
    item = make_item()
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"base_unit": "BX"}, item)
    assert "Change the packaging together with the base unit" in messages(exc)["base_unit"][0]
    changes = ADAPTER.validate({"base_unit": "BX", "packaging": [{"unit": "BX", "quantity": 1}]}, item)
    item_update(item, changes=changes, actor=steward, reason="sold by the box only")
    assert ADAPTER.snapshot(Item.objects.get(pk=item.pk))["packaging"] == [
        {"level": 0, "unit": "BX", "quantity": 1, "gtin": ""}
    ]


def test_create_takes_validated_values(steward, units, ml):
    data = ADAPTER.validate(
        {"description": "Lidocaine 1%, 5 mL vial", "item_type": "drug", "ndc": "0409-4276-01", "base_unit": "EA",
         "content_quantity": "5", "content_unit": "ML"},
        None,
    )  # fmt: skip
    item = ADAPTER.create(data, actor=steward, reason="new drug")
    assert (item.ndc, item.content_unit.code, str(item.content_quantity.normalize())) == ("00409427601", "ML", "5")
    assert list(item.packaging_levels.values_list("level", "unit__code", "quantity")) == [(0, "EA", 1)]
    # one field of a new record normalizes on its own (the create form's duplicate suggestions use it) ...
    assert ADAPTER.validate({"ndc": "0409-4276-01"}, None) == {"ndc": "00409427601"}
    with pytest.raises(ValidationError) as exc:
        ADAPTER.validate({"ndc": "0409-4276-01", "item_type": "lab"}, None)
    assert "only allowed for drugs" in messages(exc)["ndc"][0]
    # ... and an item that lacks what every item has is refused when it is created
    with pytest.raises(ValidationError) as exc:
        ADAPTER.create(ADAPTER.validate({"short_name": "x"}, None), actor=steward, reason="x")
    assert "base_unit" in messages(exc)


def test_merge_children_moves_gtins_clearing_first(make_item, steward):
    survivor = make_item(gtins=("", "", GUDID_CASE))
    merged = make_item("Blom trach tube", gtins=(GUDID_EACH, GUDID_BOX, ""), part="313-71-015X")
    m_each, m_box, _ = merged.packaging_levels.order_by("level")
    s_each, s_box, _ = survivor.packaging_levels.order_by("level")
    moves = ADAPTER.merge_children(survivor, merged, actor=steward, reason="same tube")
    model = "items.ItemPackagingLevel"
    assert moves == [
        {"op": "update", "model": model, "pk": m_each.pk, "field": "gtin", "old": GUDID_EACH, "new": ""},
        {"op": "update", "model": model, "pk": s_each.pk, "field": "gtin", "old": "", "new": GUDID_EACH},
        {"op": "update", "model": model, "pk": m_box.pk, "field": "gtin", "old": GUDID_BOX, "new": ""},
        {"op": "update", "model": model, "pk": s_box.pk, "field": "gtin", "old": "", "new": GUDID_BOX},
    ]
    assert [level["gtin"] for level in ADAPTER.snapshot(survivor)["packaging"]] == [GUDID_EACH, GUDID_BOX, GUDID_CASE]
    assert [level["gtin"] for level in ADAPTER.snapshot(merged)["packaging"]] == ["", "", ""]


def test_a_level_of_another_size_keeps_its_gtin(make_item, steward):
    survivor = make_item()
    merged = make_item("Other pack", gtins=("", GUDID_BOX, ""), part="Z-1")
    box = merged.packaging_levels.get(level=1)
    item_update(merged, changes={"packaging": [*ADAPTER.snapshot(merged)["packaging"][:1], {"unit": "BX",
                "quantity": 20, "gtin": GUDID_BOX}]}, actor=steward, reason="t")  # fmt: skip
    assert ADAPTER.merge_children(survivor, merged, actor=steward, reason="x") == []
    assert ItemPackagingLevel.objects.get(pk=box.pk).gtin == GUDID_BOX


def test_merge_then_unmerge_through_change_requests_puts_the_gtins_back(make_item, steward, approver):
    survivor = make_item()
    merged = make_item("Blom trach tube", gtins=(GUDID_EACH, GUDID_BOX, ""), part="313-71-015X")
    cr = merge_propose(entity_type="item", survivor_id=survivor.pk, merged_id=merged.pk, actor=steward, reason="same")
    change_request_approve(cr, actor=approver)
    assert ChangeRequest.objects.get(pk=cr.pk).status == "applied"
    assert [level["gtin"] for level in ADAPTER.snapshot(survivor)["packaging"]] == [GUDID_EACH, GUDID_BOX, ""]
    undo = unmerge_propose(entity_type="item", merged_id=merged.pk, actor=steward, reason="different tubes")
    change_request_approve(undo, actor=approver)
    assert [level["gtin"] for level in ADAPTER.snapshot(survivor)["packaging"]] == ["", "", ""]
    assert [level["gtin"] for level in ADAPTER.snapshot(merged)["packaging"]] == [GUDID_EACH, GUDID_BOX, ""]


def test_source_values_from_a_standardized_payload(gudid_payload, units, odoo):
    serializer = ItemPayloadSerializer(data=gudid_payload, context={"system": odoo})
    assert serializer.is_valid(), serializer.errors
    values = ADAPTER.source_values(to_json(serializer.validated_data))
    assert values == {
        "description": "Blom tracheostomy tube, basic, single-use",
        "short_name": "Blom trach tube 313-71-015",
        "manufacturer_name": "PULMODYNE INC",
        "manufacturer_part_number": "313-71-015",
        "item_type": "med_surg",
        "unspsc": "42271706",
        "sterile": True,
        "latex_free": None,
        "single_use": True,
        "implantable": None,
        "prescription": None,
        "ndc": "",
        "gudid_di": GUDID_EACH,
        "base_unit": "EA",
    }
    assert set(ADAPTER.survivorship) <= set(values)
    assert ADAPTER.source_values({"description": "x", "manufacturer": None}) == {
        "description": "x",
        "manufacturer_name": "",
    }


def test_search_by_text_gtin_ndc_part_number_and_udi(make_item, drug):
    tube = make_item(gtins=(GUDID_EACH, GUDID_BOX, ""), gudid_di=GUDID_EACH, short_name="Blom trach")
    glove = make_item("Nitrile exam glove, large", part="N-88", manufacturer_name="Acme")
    search = ADAPTER.search
    assert list(search("tracheostomy blom")) == [tube]
    assert list(search("acme")) == [glove]  # manufacturer
    assert list(search("trach")) == [tube]  # short name and description
    assert list(search("1 0841470 10066 4")) == [tube]  # the box's GTIN, as printed under a barcode
    assert list(search("0409-2720-01")) == [drug]  # NDC in a 10-digit label notation
    assert list(search("31371015")) == [tube]  # the part number without its hyphens
    assert list(search(GUDID_EACH)) == [tube]
    assert list(search("nothing like it")) == []


def test_scope_and_label(make_item):
    item = make_item(short_name="Blom trach")
    assert ADAPTER.scope(item, {"unspsc": "53102800"}) == {"category": "53102800"}
    assert ADAPTER.scope(item, {}) == {"category": "42271706"}
    assert ADAPTER.scope(None, {"unspsc": ""}) == {"category": ""}
    assert ADAPTER.label(item) == "Blom trach (313-71-015)"
    item.short_name = ""
    assert ADAPTER.label(item) == "Blom tracheostomy tube (313-71-015)"
