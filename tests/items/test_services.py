"""Creating items: from a source record or directly; audited, all-or-nothing, retired never deleted."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from items.models import Item, ItemPackagingLevel, part_number_key
from items.selectors import packaging_level_by_gtin
from items.services import item_create
from mdm import registry
from mdm.models import GoldenRecordDeleteError, SourceRecord
from mdm.services.golden import golden_create_from_source, golden_set_status
from tests.items.conftest import GUDID_BOX, GUDID_CASE, GUDID_EACH
from tests.items.factories import ItemFactory, ItemPackagingLevelFactory

URL = "/api/v1/source-records/"


def test_item_is_registered_with_the_hub():
    spec = registry.get("item")
    assert (spec.label, spec.model_label, spec.api_path) == ("Item", "items.Item", "items")
    assert spec.display({"description": "Blom trach tube", "manufacturer_part_number": "313-71-015"}) == (
        "Blom trach tube 313-71-015"
    )


@pytest.mark.django_db
class TestFromSourceRecord:
    def test_ingest_stores_one_record_and_quarantines_the_other(self, api, units, gudid_payload):
        bad = {**gudid_payload, "packaging": [{"unit": "EA", "quantity": 1, "gtin": "00841470100668"}]}
        body = {
            "system": "odoo-prod",
            "entity_type": "item",
            "records": [
                {"external_id": "product.template,42", "payload": gudid_payload},
                {"external_id": "product.template,43", "payload": bad},
            ],
        }
        response = api.post(URL, body, format="json")
        assert response.status_code == 200, response.content
        ok, rejected = response.json()["results"]
        assert (ok["outcome"], rejected["outcome"]) == ("stored", "rejected")
        assert rejected["errors"] == {
            "packaging": {"0": {"gtin": ["GTIN '00841470100668' has a wrong check digit: expected 7, got 8."]}}
        }
        record = SourceRecord.objects.get()
        assert record.external_id == "product.template,42"
        assert record.payload == gudid_payload  # kept exactly as received
        assert record.standardized["packaging"][2] == {"unit": "CS", "quantity": 100, "gtin": GUDID_CASE}
        assert record.standardized["pack_string"] == "CS 100BX/10EA "
        quarantined = api.get("/api/v1/quarantine/", {"entity_type": "item"}).json()["results"]
        assert [(q["external_id"], q["status"]) for q in quarantined] == [("product.template,43", "open")]
        assert Item.objects.count() == 0  # ingest stores source records; golden records come later

    def test_create_golden_with_a_three_level_gudid_hierarchy(self, api, units, steward, gudid_payload):
        body = {
            "system": "odoo-prod",
            "entity_type": "item",
            "records": [{"external_id": "product.template,42", "payload": gudid_payload}],
        }
        api.post(URL, body, format="json")
        item = golden_create_from_source(SourceRecord.objects.get(), actor=steward, reason="initial load")

        assert (item.description, item.manufacturer_name, item.part_number_key) == (
            "Blom tracheostomy tube, basic, single-use",
            "PULMODYNE INC",
            "31371015",
        )
        assert (item.base_unit.code, item.gudid_di, item.sterile, item.latex_free) == ("EA", GUDID_EACH, True, None)
        levels = list(item.packaging_levels.order_by("level"))
        assert [(p.level, p.unit.code, p.quantity, p.gtin) for p in levels] == [
            (0, "EA", 1, GUDID_EACH),
            (1, "BX", 10, GUDID_BOX),
            (2, "CS", 100, GUDID_CASE),
        ]
        assert [item.eaches_per(level) for level in (0, 1, 2)] == [1, 10, 1000]
        crosswalk = SourceRecord.objects.get().crosswalk
        assert (crosswalk.golden_id, crosswalk.link_method) == (item.pk, "created")
        # Who and why are on the item's history and on every packaging level's.
        assert (item.history.get().history_user, item.history.get().history_change_reason) == (
            steward,
            "initial load",
        )
        assert {(h.history_user, h.history_change_reason) for h in ItemPackagingLevel.history.all()} == {
            (steward, "initial load")
        }
        assert packaging_level_by_gtin(GUDID_CASE).level == 2

    def test_gtin_lookup_by_any_length(self, steward, units):
        item = item_create(
            data={
                "description": "Blom trach tube",
                "item_type": "med_surg",
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": "0841470100667"},
                    {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
                ],
            },
            actor=steward,
            reason="t",
        )
        found = packaging_level_by_gtin("841470100667")  # GTIN-12 (UPC-A)
        assert (found.item, found.level) == (item, 0)
        assert packaging_level_by_gtin("20841470100661") is None


@pytest.mark.django_db
class TestItemCreate:
    def base(self, **extra):
        return {"description": "Exam glove, nitrile, medium", "item_type": "med_surg", "base_unit": "EA", **extra}

    def test_without_packaging_the_item_gets_its_base_level(self, steward, units):
        item = item_create(data=self.base(manufacturer_part_number="n-8830/m"), actor=steward, reason="t")
        assert [(p.level, p.unit.code, p.quantity, p.gtin) for p in item.packaging_levels.all()] == [(0, "EA", 1, "")]
        assert item.part_number_key == "N8830M" == part_number_key("N 8830 M")
        assert item.eaches_per(0) == 1
        with pytest.raises(ValueError, match="no packaging level 1"):
            item.eaches_per(1)

    def test_aliases_resolve_for_the_given_system(self, steward, units, odoo):
        data = self.base(packaging=[{"unit": "EA", "quantity": 1}, {"unit": "case", "quantity": 12}])
        item = item_create(data=data, system=odoo, actor=steward, reason="t")
        assert item.eaches_per(1) == 12
        with pytest.raises(ValidationError) as exc:
            item_create(data=data, actor=steward, reason="t")  # "case" is odoo-prod's alias only
        assert "Unknown unit 'case'" in exc.value.message_dict["packaging[1].unit"][0]

    def test_identifiers_are_stored_canonical(self, steward, units):
        item = item_create(
            data=self.base(item_type="drug", ndc="0409-4888-02", unspsc=" 51161700", gudid_di=""),
            actor=steward,
            reason="t",
        )
        assert (item.ndc, item.ndc_formatted, item.unspsc) == ("00409488802", "00409-4888-02", "51161700")

    @pytest.mark.parametrize(
        ("extra", "field", "words"),
        [
            ({"ndc": "0409-4888-02"}, "ndc", "only allowed for drugs"),
            ({"item_type": "drug", "ndc": "0409488802"}, "ndc", "ambiguous"),
            ({"base_unit": "NOPE"}, "base_unit", "Unknown unit 'NOPE'"),
            ({"item_type": "gadget"}, "item_type", "not a valid choice"),
            ({"description": ""}, "description", "cannot be blank"),
            (
                {"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": "ten"}]},
                "packaging[1].quantity",
                "whole number",
            ),
            (
                {
                    "packaging": [
                        {"unit": "EA", "quantity": 1, "gtin": GUDID_BOX},
                        {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
                    ]
                },
                "packaging[1].gtin",
                "already given for packaging level 0",
            ),
        ],
    )
    def test_bad_data_names_the_field_and_writes_nothing(self, steward, units, extra, field, words):
        with pytest.raises(ValidationError) as exc:
            item_create(data=self.base(**extra), actor=steward, reason="t")
        assert words in " ".join(exc.value.message_dict[field])
        assert Item.objects.count() == ItemPackagingLevel.objects.count() == 0
        assert Item.history.count() == 0

    def test_gtin_of_another_item_is_refused_before_anything_is_written(self, steward, units):
        first = item_create(
            data=self.base(
                packaging=[{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX}]
            ),
            actor=steward,
            reason="t",
        )
        data = self.base(
            description="Another glove",
            packaging=[
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
            ],
        )
        with pytest.raises(ValidationError) as exc:
            item_create(data=data, actor=steward, reason="t")
        assert exc.value.message_dict["packaging[1].gtin"] == [
            f"GTIN '{GUDID_BOX}' already belongs to item {first.pk} (packaging level 1); "
            "a GTIN identifies one packaging level of one item."
        ]
        assert list(Item.objects.values_list("pk", flat=True)) == [first.pk]
        assert not ItemPackagingLevel.objects.filter(gtin=GUDID_EACH).exists()

    def test_unknown_keys_are_a_programming_error(self, steward, units):
        with pytest.raises(ValueError, match="unknown field.*colour"):
            item_create(data=self.base(colour="blue"), actor=steward, reason="t")


@pytest.mark.django_db
class TestDatabaseRules:
    def test_one_live_level_per_gtin(self):
        ItemPackagingLevelFactory(gtin=GUDID_EACH)
        with pytest.raises(IntegrityError), transaction.atomic():
            ItemPackagingLevelFactory(gtin=GUDID_EACH)

    def test_many_levels_without_gtin(self):
        ItemPackagingLevelFactory(gtin="")
        ItemPackagingLevelFactory(gtin="")
        assert ItemPackagingLevel.objects.filter(gtin="").count() == 2

    def test_one_row_per_item_and_level(self):
        level = ItemPackagingLevelFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            ItemPackagingLevelFactory(item=level.item)

    def test_base_level_holds_one(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            ItemPackagingLevelFactory(quantity=10)


@pytest.mark.django_db
def test_items_are_retired_not_deleted(steward, units):
    item = item_create(
        data={"description": "Suture", "item_type": "med_surg", "base_unit": "EA"}, actor=steward, reason="t"
    )
    with pytest.raises(GoldenRecordDeleteError):
        item.delete()
    with pytest.raises(GoldenRecordDeleteError):
        Item.objects.filter(pk=item.pk).delete()
    golden_set_status(item, status="retired", actor=steward, reason="discontinued", expected_version=1)
    item.refresh_from_db()
    assert (item.status, item.version) == ("retired", 2)
    assert item.packaging_levels.count() == 1
    assert item.history.first().history_change_reason == "discontinued"


@pytest.mark.django_db
def test_factories_build_consistent_rows():
    item = ItemFactory()
    ItemPackagingLevelFactory(item=item)
    assert item.base_unit.code == "EA"
    assert item.eaches_per(0) == 1
