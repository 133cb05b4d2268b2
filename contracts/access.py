"""What access limits can restrict contracts and contract prices on (``mdm.access``).

- ``facility`` (contracts and prices): the contract's facility or business unit. Group-wide contracts
  (no facility) apply to every facility, so every facility limit admits them and their prices.
- ``category`` (prices): the UNSPSC category of the priced item, as for items.

Prices are limited through their item and contract too (``EntitySpec.access_through``): someone limited to
the items of one category or the contracts of one facility sees only those items' and contracts' prices.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q

from items.access import CATEGORY_DESCRIPTION, category_filter, clean_unspsc_prefix
from mdm.registry import AccessAttribute

FACILITY_DESCRIPTION = "facility or business unit of a contract, e.g. North Campus (group-wide contracts always)"


def clean_facility(value: str) -> str:
    """A facility name as stored on contracts: spaces collapsed, at most 64 characters."""
    text = " ".join(str(value).split())
    if len(text) > 64:
        raise ValidationError(f"Facility '{text[:20]}…' is longer than 64 characters; no contract can carry it.")
    return text


def facility_filter(field_name: str = "facility"):
    """``values -> Q``: contracts of one of the facilities (any case), and the group-wide ones."""

    def build(values: list[str]) -> Q:
        q = Q(**{field_name: ""})
        for value in values:
            q |= Q(**{f"{field_name}__iexact": value})
        return q

    return build


CONTRACT_ACCESS_ATTRIBUTES = {
    "facility": AccessAttribute(filter=facility_filter(), description=FACILITY_DESCRIPTION, clean=clean_facility),
}

CONTRACT_PRICE_ACCESS_ATTRIBUTES = {
    "facility": AccessAttribute(
        filter=facility_filter("contract__facility"), description=FACILITY_DESCRIPTION, clean=clean_facility
    ),
    "category": AccessAttribute(
        filter=category_filter("item__unspsc"), description=CATEGORY_DESCRIPTION, clean=clean_unspsc_prefix
    ),
}

CONTRACT_PRICE_ACCESS_THROUGH = (("item", "item"), ("contract", "contract"))
