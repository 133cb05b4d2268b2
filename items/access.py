"""What access limits can restrict items on (``mdm.access``): the UNSPSC category.

A limit's values are UNSPSC prefixes: a segment (2 digits, e.g. ``42`` medical equipment), a family (4), a
class (6) or a commodity (8). An item is admitted when its code starts with one of them; an item without a
UNSPSC code is outside every category limit.
"""

from django.core.exceptions import ValidationError
from django.db.models import Q

from mdm.registry import AccessAttribute

PREFIX_LENGTHS = (2, 4, 6, 8)


def clean_unspsc_prefix(value: str) -> str:
    """A UNSPSC segment, family, class or commodity code: 2, 4, 6 or 8 digits; the segment is never 00."""
    digits = str(value).strip()
    if not digits.isdigit() or len(digits) not in PREFIX_LENGTHS:
        raise ValidationError(
            f"'{value}' is not a UNSPSC category: give a segment (2 digits, e.g. 42), family (4), class (6) "
            "or commodity (8).",
            code="unspsc_prefix",
        )
    if digits[:2] == "00":
        raise ValidationError(f"UNSPSC category '{value}' has segment 00, which does not exist.", code="unspsc_segment")
    return digits


def category_filter(field_name: str = "unspsc"):
    """``values -> Q``: the records whose UNSPSC code (at ``field_name``) starts with one of the prefixes."""

    def build(values: list[str]) -> Q:
        q = Q(pk__in=[])
        for prefix in values:
            q |= Q(**{f"{field_name}__startswith": prefix})
        return q

    return build


CATEGORY_DESCRIPTION = "UNSPSC segment (2 digits), family (4), class (6) or commodity (8)"

ACCESS_ATTRIBUTES = {
    "category": AccessAttribute(filter=category_filter(), description=CATEGORY_DESCRIPTION, clean=clean_unspsc_prefix),
}
