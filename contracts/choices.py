from django.db import models


class ContractKind(models.TextChoices):
    GPO = "gpo", "GPO (group purchasing organization) agreement"
    LOCAL = "local", "Local agreement negotiated directly with the supplier"
    DISTRIBUTOR = "distributor", "Distributor agreement"


class ContractTerm(models.TextChoices):
    """Where a date falls relative to a contract's or price's dates; derived, never stored."""

    PENDING = "pending", "Not started yet"
    IN_EFFECT = "in_effect", "In effect"
    EXPIRED = "expired", "Expired"


# Which agreement wins when several price an order (see contracts.lookup): a local agreement, negotiated
# for this buyer, over a GPO agreement, over a distributor (list) agreement. Lower number wins.
CONTRACT_KIND_PRECEDENCE: dict[str, int] = {ContractKind.LOCAL: 1, ContractKind.GPO: 2, ContractKind.DISTRIBUTOR: 3}


class PriceCheck(models.TextChoices):
    """The price checks' steward task kinds (``StewardTask.kind``)."""

    OVERLAP = "price_overlap", "Overlapping prices for one item, supplier, unit and tier"
    EXPIRING = "contract_expiring", "Contract expiring soon"
    ANOMALY = "price_anomaly", "Price far from the item's median per base unit"
    UNCONVERTIBLE = "price_unit_unconvertible", "Price unit not convertible to the item's base unit"


class PriceOutcome(models.TextChoices):
    """What the price lookup decided about one candidate price line (see contracts.lookup)."""

    CHOSEN = "chosen", "Chosen"
    PRICE_INACTIVE = "price_inactive", "Price line not active"
    CONTRACT_INACTIVE = "contract_inactive", "Contract not active"
    CONTRACT_NOT_IN_EFFECT = "contract_not_in_effect", "Contract not in effect on the date"
    OTHER_CURRENCY = "other_currency", "In another currency"
    UNIT_NOT_CONVERTIBLE = "unit_not_convertible", "Unit not convertible to the base unit"
    TIER_NOT_REACHED = "tier_not_reached", "Tier not reached by the quantity"
    HIGHER_TIER_APPLIES = "higher_tier_applies", "A higher tier of the same contract applies"
    NOT_ENTRY_TIER = "not_entry_tier", "Not the entry tier (comparison without a quantity)"
    LOWER_PRECEDENCE = "lower_precedence", "Outranked by a contract kind of higher precedence"
    HIGHER_PRICE = "higher_price_per_base_unit", "Higher price per base unit"
    OLDER_START = "older_start", "Same price per base unit, older start"
    TIE_HIGHER_ID = "tie_higher_id", "Same price and start, higher id"
