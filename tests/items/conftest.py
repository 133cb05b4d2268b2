import pytest

from uom.services import unit_create


@pytest.fixture
def units(steward, odoo):
    """EA, BX and CS; odoo-prod calls a case "Case" and a box "Bx"."""
    return {
        "EA": unit_create(code="EA", name="Each", dimension="count", actor=steward, reason="test"),
        "BX": unit_create(
            code="BX", name="Box", dimension="count", aliases=["Bx"], system=odoo, actor=steward, reason="test"
        ),
        "CS": unit_create(
            code="CS", name="Case", dimension="count", aliases=["Case"], system=odoo, actor=steward, reason="test"
        ),
    }


# A real GUDID hierarchy (Pulmodyne Blom tracheostomy tube 313-71-015): case of 100 boxes of 10.
GUDID_EACH, GUDID_BOX, GUDID_CASE = "00841470100667", "10841470100664", "20841470100661"


@pytest.fixture
def gudid_payload():
    return {
        "description": "Blom tracheostomy tube, basic, single-use",
        "short_name": "Blom trach tube 313-71-015",
        "manufacturer": "PULMODYNE INC",
        "manufacturer_part_number": "313-71-015",
        "item_type": "med_surg",
        "unspsc": "42271706",
        "sterile": True,
        "latex_free": None,
        "single_use": True,
        "gudid_di": GUDID_EACH,
        "base_unit": "EA",
        "packaging": [
            {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
            {"unit": "Bx", "quantity": 10, "gtin": GUDID_BOX},
            {"unit": "Case", "quantity": 100, "gtin": GUDID_CASE},
        ],
        "pack_string": "CS 100BX/10EA ",
    }
