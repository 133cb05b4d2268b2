"""The item payload contract: every bad input is refused with a message naming the field, and nothing is written."""

import pytest

from items.models import Item, ItemPackagingLevel
from items.serializers import ItemPayloadSerializer
from mdm.models import Crosswalk, QuarantinedRecord, SourceRecord
from tests.items.conftest import GUDID_BOX, GUDID_CASE, GUDID_EACH

URL = "/api/v1/source-records/"


def drug(**extra):
    return {"description": "Heparin sodium 1000 units/mL 10 mL vial", "item_type": "drug", "base_unit": "EA", **extra}


def validate(payload, system=None):
    serializer = ItemPayloadSerializer(data=payload, context={"system": system})
    serializer.is_valid()
    return serializer


@pytest.mark.django_db
class TestValidPayload:
    def test_standardized_form(self, units, odoo, gudid_payload):
        serializer = validate(gudid_payload, odoo)
        assert serializer.is_valid(), serializer.errors
        data = serializer.validated_data
        # Aliases the source uses become hub codes; GTINs are 14 digits; pack text is kept verbatim.
        assert [(p["unit"], p["quantity"], p["gtin"]) for p in data["packaging"]] == [
            ("EA", 1, GUDID_EACH),
            ("BX", 10, GUDID_BOX),
            ("CS", 100, GUDID_CASE),
        ]
        assert data["pack_string"] == "CS 100BX/10EA "
        assert (data["sterile"], data["latex_free"], data["implantable"]) == (True, None, None)
        assert data["ndc"] == ""

    def test_short_gtins_are_stored_as_fourteen_digits(self, units):
        payload = drug(packaging=[{"unit": "EA", "quantity": 1, "gtin": "0841470100667"}])
        assert validate(payload).validated_data["packaging"][0]["gtin"] == GUDID_EACH

    def test_minimal_payload_and_nulls(self, units):
        serializer = validate({**drug(), "short_name": None, "gudid_di": None, "unspsc": ""})
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data["packaging"] == []
        assert (serializer.validated_data["short_name"], serializer.validated_data["gudid_di"]) == ("", "")

    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("0409-4888-02", "00409488802"),  # 4-4-2: labeler padded
            ("63323-047-10", "63323004710"),  # 5-3-2: product padded
            ("63323-0470-1", "63323047001"),  # 5-4-1: package padded
            ("63323-0470-10", "63323047010"),  # 5-4-2 (billing form)
            ("63323047010", "63323047010"),  # 11 digits without hyphens
            (" 0409-4888-02 ", "00409488802"),
        ],
    )
    def test_ndc_normalization(self, units, given, stored):
        serializer = validate(drug(ndc=given))
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data["ndc"] == stored

    def test_hibcc_device_identifier(self, units):
        serializer = validate(drug(item_type="implant", gudid_di="+h123abc1230"))
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data["gudid_di"] == "+H123ABC1230"


# (payload change, path to the field's messages, words the first message must contain)
BAD_INPUTS = {
    "gtin_check_digit": (
        {
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": "10841470100665"},
            ]
        },
        ("packaging", 1, "gtin"),
        ["10841470100665", "check digit", "expected 4"],
    ),
    "gtin_length": (
        {"packaging": [{"unit": "EA", "quantity": 1, "gtin": "12345"}]},
        ("packaging", 0, "gtin"),
        ["has 5 digits"],
    ),
    "duplicate_gtin": (
        {
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
                {"unit": "CS", "quantity": 100, "gtin": GUDID_BOX},
            ]
        },
        ("packaging", 2, "gtin"),
        [GUDID_BOX, "already given for packaging level 1"],
    ),
    "same_indicator_on_two_levels": (
        # The source wrote the box GTIN twice in two notations: same item reference, both indicator 1.
        {
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": "1 0841470 10066 4"},
                {"unit": "CS", "quantity": 100, "gtin": GUDID_BOX},
            ]
        },
        ("packaging", 2, "gtin"),
        ["item reference 084147010066", "different indicator digits (both use 1)"],
    ),
    "variable_measure_indicator": (
        {"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 10, "gtin": "90841470100660"}]},
        ("packaging", 1, "gtin"),
        ["indicator digit 9", "variable-measure"],
    ),
    "unknown_packaging_unit": (
        {"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "PALLET", "quantity": 40}]},
        ("packaging", 1, "unit"),
        ["Unknown unit 'PALLET'"],
    ),
    "unknown_base_unit": ({"base_unit": "XYZ"}, ("base_unit",), ["Unknown unit 'XYZ'"]),
    "zero_quantity": (
        {"packaging": [{"unit": "EA", "quantity": 1}, {"unit": "BX", "quantity": 0}]},
        ("packaging", 1, "quantity"),
        ["at least 1"],
    ),
    "base_level_quantity_not_one": (
        {"packaging": [{"unit": "EA", "quantity": 10}]},
        ("packaging", 0, "quantity"),
        ["must be 1, not 10"],
    ),
    "base_level_unit_not_base_unit": (
        {"packaging": [{"unit": "BX", "quantity": 1}]},
        ("packaging", 0, "unit"),
        ["item's base unit 'EA', not 'BX'"],
    ),
    "ndc_segment_lengths": ({"ndc": "1234-123-12"}, ("ndc",), ["segment lengths 4-3-2", "4-4-2, 5-3-2 or 5-4-1"]),
    "ndc_ten_digits_unhyphenated": ({"ndc": "0409488802"}, ("ndc",), ["ambiguous", "4-4-2, 5-3-2 or 5-4-1"]),
    "ndc_on_a_device": ({"item_type": "med_surg", "ndc": "0409-4888-02"}, ("ndc",), ["only allowed for drugs"]),
    "unspsc_length": ({"unspsc": "4227"}, ("unspsc",), ["must be 8 digits"]),
    "gudid_di_check_digit": ({"gudid_di": "00841470100668"}, ("gudid_di",), ["expected 7"]),
    "unknown_item_type": ({"item_type": "widget"}, ("item_type",), ["not a valid choice"]),
}


def _dig(errors, path):
    # serializer.errors keys list positions by int; the JSON response by string.
    for key in path:
        errors = errors[key] if key in errors else errors[str(key)]
    return errors


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize("case", sorted(BAD_INPUTS))
    def test_serializer_names_the_field(self, units, case):
        change, path, words = BAD_INPUTS[case]
        serializer = validate(drug(**change))
        assert not serializer.is_valid()
        message = _dig(serializer.errors, path)[0]
        for word in words:
            assert word in message, message

    @pytest.mark.parametrize("case", sorted(BAD_INPUTS))
    def test_ingest_rejects_and_writes_nothing(self, api, units, case):
        change, path, words = BAD_INPUTS[case]
        body = {
            "system": "odoo-prod",
            "entity_type": "item",
            "records": [{"external_id": "p1", "payload": drug(**change)}],
        }
        response = api.post(URL, body, format="json")
        assert response.status_code == 200, response.content
        result = response.json()["results"][0]
        assert result["outcome"] == "rejected"
        message = _dig(result["errors"], path)[0]
        assert all(word in message for word in words), message
        assert SourceRecord.objects.count() == Crosswalk.objects.count() == 0
        assert Item.objects.count() == ItemPackagingLevel.objects.count() == 0
        assert QuarantinedRecord.objects.get(external_id="p1").errors == result["errors"]

    def test_several_problems_are_reported_together(self, units):
        serializer = validate(drug(unspsc="12", ndc="0409488802", base_unit="XYZ"))
        assert set(serializer.errors) == {"unspsc", "ndc", "base_unit"}


@pytest.mark.django_db
class TestPackString:
    """The pack string is checked against the packaging sent with it; unreadable ones are kept, not guessed."""

    def test_a_consistent_pack_string_passes(self, units, odoo, gudid_payload):
        assert validate(gudid_payload, odoo).is_valid()

    def test_a_contradicting_pack_string_is_refused(self, units, odoo, gudid_payload):
        serializer = validate({**gudid_payload, "pack_string": "CS 10BX/100EA"}, odoo)
        message = " ".join(serializer.errors["pack_string"])
        assert "BX" in message and "100" in message, message

    def test_an_unreadable_pack_string_is_kept_as_written(self, units, odoo, gudid_payload):
        serializer = validate({**gudid_payload, "pack_string": "see catalog page 12"}, odoo)
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data["pack_string"] == "see catalog page 12"

    def test_ingest_of_a_contradicting_pack_string_writes_nothing(self, api, units, gudid_payload):
        body = {
            "system": "odoo-prod",
            "entity_type": "item",
            "records": [{"external_id": "p1", "payload": {**gudid_payload, "pack_string": "CS 10BX/100EA"}}],
        }
        result = api.post(URL, body, format="json").json()["results"][0]
        assert result["outcome"] == "rejected" and "pack_string" in result["errors"]
        assert SourceRecord.objects.count() == Item.objects.count() == 0
