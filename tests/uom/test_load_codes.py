"""``manage.py uom_load_codes``: the code lists into Unit rows, idempotent, never overwriting the hub's own data."""

import pytest
from django.core.management import CommandError, call_command

from mdm.models import SourceRecord
from mdm.services.golden import golden_create_from_source
from uom.models import Unit, UnitAlias
from uom.packstrings import pack_parse
from uom.selectors import unit_resolve
from uom.services import unit_create

pytestmark = pytest.mark.django_db


def _history_rows():
    return Unit.history.count() + UnitAlias.history.count()


def test_load_creates_units_and_is_idempotent(capsys):
    call_command("uom_load_codes")
    first = capsys.readouterr().out
    assert "created" in first
    units, aliases, history = Unit.objects.count(), UnitAlias.objects.count(), _history_rows()
    assert units > 400  # the hub catalogue plus every Rec 21 package type
    assert Unit.objects.get(code="MG").unece_code == "MGM"
    assert Unit.objects.get(code="XKG").name == "Keg"
    assert Unit.objects.get(code="CS").dimension == "count"
    assert UnitAlias.objects.get(normalized="millilitre", system=None).unit.code == "ML"
    assert Unit.objects.get(code="EA").history.get().history_user.username == "system"

    call_command("uom_load_codes")
    second = capsys.readouterr().out
    assert "0 created, 0 updated" in second
    assert (Unit.objects.count(), UnitAlias.objects.count(), _history_rows()) == (units, aliases, history)


def test_existing_units_keep_their_data_and_only_get_blanks_filled(api, odoo, steward, capsys):
    # As the demo does: the Odoo feed creates EA and DZ first, with its own names and aliases.
    api.post(
        "/api/v1/source-records/",
        {
            "system": "odoo-prod",
            "entity_type": "unit",
            "records": [
                {"external_id": "uom.uom,1", "payload": {"code": "EA", "name": "Units", "dimension": "count"}},
                {"external_id": "uom.uom,2", "payload": {"code": "L", "name": "Liter", "dimension": "count"}},
            ],
        },
        format="json",
    )
    for record in SourceRecord.objects.all():
        golden_create_from_source(record, actor=steward)
    call_command("uom_load_codes")
    out = capsys.readouterr().out
    each = Unit.objects.get(code="EA")
    assert (each.name, each.unece_code, each.ucum_code, each.version) == ("Units", "EA", "{each}", 2)
    litre = Unit.objects.get(code="L")
    assert (litre.dimension, litre.unece_code) == ("count", "")  # a conflict is reported, never overwritten
    assert "L: the hub has dimension 'count', the code list says 'volume'; left as it is." in out


def test_convention_gives_a_source_system_the_x12_aliases(catalog, capsys):
    call_command("uom_load_codes", "--convention", "distributor-catalog=x12")
    assert UnitAlias.objects.get(system=catalog, normalized="ca").unit.code == "CS"
    assert unit_resolve("CA", system=catalog).code == "CS"  # the database selector agrees
    assert unit_resolve("CA").code == "CA"  # the can, for everyone else
    assert pack_parse("12/CA", system=catalog).levels[-1].unit == "CS"
    assert pack_parse("12/CA").levels[-1].unit == "CA"
    before = UnitAlias.objects.count()
    call_command("uom_load_codes", "--convention", "distributor-catalog=x12")
    assert UnitAlias.objects.count() == before


def test_bad_convention_arguments_write_nothing(catalog):
    with pytest.raises(CommandError, match="expects SYSTEM=CONVENTION"):
        call_command("uom_load_codes", "--convention", "x12")
    with pytest.raises(CommandError, match="There is no source system 'nowhere'"):
        call_command("uom_load_codes", "--convention", "nowhere=x12")
    with pytest.raises(CommandError, match="Unknown unit convention 'edifact'; known: fda, x12"):
        call_command("uom_load_codes", "--convention", "distributor-catalog=edifact")
    assert Unit.objects.count() == 0


def test_a_global_alias_taken_by_another_unit_is_skipped(steward):
    unit_create(code="PCS", name="Pieces", dimension="count", actor=steward, reason="t")
    from mdm.services.golden import golden_save_child

    golden_save_child(UnitAlias(unit=Unit.objects.get(code="PCS"), alias="piece"), actor=steward, reason="t")
    call_command("uom_load_codes")
    assert UnitAlias.objects.get(normalized="piece", system=None).unit.code == "PCS"
