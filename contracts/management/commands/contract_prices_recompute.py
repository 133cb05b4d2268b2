"""Recompute prices per base unit from the items' current packaging (all items, or the ones named)."""

from django.core.management.base import BaseCommand

from contracts.models import ContractPrice
from contracts.services import contract_prices_recompute


class Command(BaseCommand):
    help = "Recompute the price per base unit of contract prices from their items' packaging."

    def add_arguments(self, parser):
        parser.add_argument("--item", type=int, action="append", dest="items", help="Item id (repeatable).")
        parser.add_argument("--missing", action="store_true", help="Only items with prices that have no figure.")

    def handle(self, *args, **opts):
        items = opts["items"]
        if not items:
            prices = ContractPrice.objects.all()
            if opts["missing"]:
                prices = prices.filter(price_per_base_unit=None)
            items = prices.order_by("item_id").values_list("item_id", flat=True).distinct()
        changed = total = 0
        for item_id in items:
            changed += contract_prices_recompute(item_id, reason="recomputed by manage.py contract_prices_recompute")
            total += 1
        self.stdout.write(f"{total} item(s) checked, {changed} price line(s) changed.")
