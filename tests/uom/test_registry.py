"""The unit registry: hub codes, UN/ECE Rec 20 and Rec 21 (bare and X-prefixed), UCUM, aliases per system."""

import pytest
from django.core.management import call_command
from django.test import override_settings

from mdm.services.golden import golden_save_child
from uom.conversions import ConversionError, unit_convert
from uom.models import Unit, UnitAlias
from uom.registry import code_lists, get_index, resolve_unit
from uom.services import unit_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("MG", "MG"),
        ("mg", "MG"),  # hub codes are case-insensitive
        ("MGM", "MG"),  # UN/ECE Rec 20
        ("C62", "EA"),
        ("H87", "EA"),
        ("DZN", "DZ"),
        ("MC", "MCG"),  # Rec 20 microgram; Rec 21's MC (milk crate) is only XMC
        ("XMC", "XMC"),
        ("BX", "BX"),  # Rec 20 BX was deleted in favour of Rec 21 BX
        ("XBX", "BX"),  # UBL/PEPPOL write Rec 21 codes with an X
        ("XCS", "CS"),
        ("VI", "VI"),
        ("2W", "BI"),  # deleted Rec 20 "bin" -> Rec 21 BI, mapped by name
        ("CH", "CN"),  # deleted Rec 20 "container" -> Rec 21 CN; Rec 21 CH (chest) is XCH
        ("XCH", "XCH"),
        ("KG", "KG"),  # the hub's kilogram; the Rec 21 keg is XKG
        ("XKG", "XKG"),
        ("PR", "PR"),  # Rec 20 pair; Rec 21 PR (plastic receptacle) is XPR
        ("ug", "MCG"),  # UCUM
        ("[iU]", "IU"),
        ("[lb_av]", "LB"),
    ],
)
def test_codes_resolve(text, code):
    assert resolve_unit(text).code == code


def test_shipped_aliases_are_governed_rows_once_loaded():
    with pytest.raises(ConversionError):
        resolve_unit("bottle")
    call_command("uom_load_codes")
    assert [resolve_unit(text).code for text in ("each", "Millilitre", "bottle", "  case ", "FL OZ")] == [
        "EA",
        "ML",
        "BO",
        "CS",
        "FOZ",
    ]


def test_rec21_names_and_deleted_rec20_mapping_come_from_the_data():
    lists = code_lists()
    assert lists.rec21["CS"]["Name"].strip() == "Case"
    assert lists.rec20_deleted["BX"] == "BX"
    assert lists.rec20_deleted["CJ"] == "AJ"  # Rec 20 cone; Rec 21 CJ is a coffin
    assert lists.rec20["BX"]["Status"] == "X"
    assert resolve_unit("CA").name == "Can, rectangular"


def test_ucum_expressions_resolve_to_ad_hoc_units():
    unit = resolve_unit("mg/dL")
    assert (unit.code, unit.ucum_code) == ("mg/dL", "mg/dL")
    assert unit_convert(1, "mg/dL", "mg/L") == 10
    assert resolve_unit("[iU]/mL").dimension == "activity"


def test_ucum_is_case_sensitive_after_hub_codes():
    # "Mg" in UCUM is a megagram, but hub codes win case-insensitively: MG is the milligram everywhere.
    assert resolve_unit("Mg").code == "MG"
    assert unit_convert(1, "Mg", "g") == 1 / unit_convert(1, "g", "mg")


def test_x12_ca_is_a_case_un_ece_ca_is_a_can():
    assert resolve_unit("CA").code == "CA"
    assert resolve_unit("CA", system="x12").code == "CS"
    assert resolve_unit("CN", system="x12").code == "CA"
    # What the convention doesn't name falls through to the shared lists.
    assert resolve_unit("MGM", system="x12").code == "MG"


def test_source_system_aliases_apply_only_to_that_system(steward, catalog, odoo):
    unit_create(code="CS", name="Case", dimension="count", aliases=["CA"], system=catalog, actor=steward, reason="t")
    assert resolve_unit("CA", system=catalog).code == "CS"
    assert resolve_unit("CA", system="distributor-catalog").code == "CS"
    assert resolve_unit("CA", system=odoo).code == "CA"
    assert resolve_unit("CA").code == "CA"


def test_unknown_code_for_a_system_says_so(catalog):
    with pytest.raises(ConversionError) as caught:
        resolve_unit("ZZQ", system=catalog, field_name="from")
    assert caught.value.code == "unknown_unit"
    assert caught.value.field == "from"
    assert "UCUM code or a shared alias or an alias of source system 'distributor-catalog'." in caught.value.message


def test_new_units_are_seen_at_once(steward):
    with pytest.raises(ConversionError):
        resolve_unit("GLVDSP")
    unit = unit_create(code="GLVDSP", name="Glove dispenser", dimension="count", actor=steward, reason="t")
    assert resolve_unit("glvdsp").name == "Glove dispenser"
    golden_save_child(UnitAlias(unit=unit, alias="dispenser of gloves"), actor=steward, reason="t")
    assert resolve_unit("Dispenser of Gloves").code == "GLVDSP"


def test_a_hub_unit_gets_its_factor_from_its_un_ece_or_ucum_code(steward):
    unit_create(code="MILLIG", name="Milligram (legacy)", dimension="mass", unece_code="XYZ", actor=steward, reason="t")
    unit_create(
        code="MICROL", name="Microlitre (legacy)", dimension="volume", ucum_code="uL", actor=steward, reason="t"
    )
    Unit.objects.filter(code="MILLIG").update(unece_code="MGM")  # the factor comes from the code list's MGM
    with override_settings(UOM_REGISTRY_TTL=0):
        assert unit_convert(1000, "MILLIG", "G") == 1
        assert unit_convert(1, "MICROL", "ML") == 1 / unit_convert(1, "ML", "MICROL")


def test_other_processes_see_changes_within_the_ttl(steward):
    unit = unit_create(code="PLT", name="Platter", dimension="count", actor=steward, reason="t")
    get_index()  # loaded and checked just now
    # A change made elsewhere (another process): no signal here, only the tables' fingerprint moves.
    Unit.objects.filter(pk=unit.pk).update(name="Platter (renamed)", updated_at=unit.updated_at.replace(year=2099))
    with override_settings(UOM_REGISTRY_TTL=3600):
        assert resolve_unit("PLT").name == "Platter"  # within the TTL: the snapshot
    with override_settings(UOM_REGISTRY_TTL=0):
        assert resolve_unit("PLT").name == "Platter (renamed)"
