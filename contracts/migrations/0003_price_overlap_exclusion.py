"""On PostgreSQL, the database itself refuses two overlapping prices for one tier.

``ContractPrice.clean()`` checks for an overlap before a write, but two transactions can both pass that
check and insert overlapping prices. The exclusion constraint closes the race: for the same contract,
item, unit and minimum quantity, no two non-retired prices may have overlapping inclusive date ranges.
SQLite has no exclusion constraints; there the check in code (and the nightly price checks) stay.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE contracts_contractprice ADD CONSTRAINT contract_price_no_overlap EXCLUDE USING gist (
    contract_id WITH =,
    item_id WITH =,
    unit_id WITH =,
    min_quantity WITH =,
    daterange(start_date, end_date, '[]') WITH &&
) WHERE (status <> 'retired');
"""
DROP = "ALTER TABLE contracts_contractprice DROP CONSTRAINT IF EXISTS contract_price_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("contracts", "0002_price_per_base_unit")]

    operations = [migrations.RunPython(create, drop)]
