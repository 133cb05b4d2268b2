"""Contains-search (admin search, API ?search=) is served by trigram indexes on PostgreSQL."""

import pytest
from django.db import connection

from items.models import Item
from suppliers.models import Supplier

EXPECTED = {
    "items_item_description_trgm",
    "items_item_short_name_trgm",
    "items_item_manufacturer_name_trgm",
    "items_item_manufacturer_part_number_trgm",
    "suppliers_supplier_legal_name_trgm",
    "suppliers_supplieralias_name_trgm",
}


@pytest.mark.django_db
def test_trigram_indexes_back_icontains():
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # The migration is a no-op elsewhere: SQLite has no trigram index type.
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%trgm%'")
            assert cursor.fetchall() == []
            return
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        assert {row[0] for row in cursor.fetchall()} >= EXPECTED
        # With sequential scans priced out, the planner must be able to answer icontains from the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for queryset, index in (
            (Item.objects.filter(description__icontains="catheter").order_by(), "items_item_description_trgm"),
            (Supplier.objects.filter(legal_name__icontains="medline").order_by(), "suppliers_supplier_legal_name_trgm"),
        ):
            sql, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan
