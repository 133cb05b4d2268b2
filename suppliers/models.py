"""Supplier golden records and the rows they own: aliases, addresses, contacts, bank accounts."""

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords, HistoricForeignKey

from mdm.crypto import mask
from mdm.fields import EncryptedTextField
from mdm.identifiers import (
    clean_aba_routing,
    clean_bank_account_number,
    clean_country,
    clean_currency,
    clean_duns,
    clean_ein,
    clean_gln,
    clean_hibcc_lic,
    clean_iban,
    clean_uei,
    clean_vat,
)
from mdm.models import GoldenChild, GoldenRecord
from suppliers.choices import AddressKind, AliasKind, ScreeningStatus

SUPPLIER_IDENTIFIERS = {
    "duns": clean_duns,
    "uei": clean_uei,
    "ein": clean_ein,
    "vat": clean_vat,
    "gln": clean_gln,
    "hibcc_lic": clean_hibcc_lic,
}
"""Identifier columns of a supplier and the ``mdm.identifiers`` cleaner that gives their stored form."""


def normalize_fields(instance, cleaners: dict) -> dict[str, list[str]]:
    """Replace each non-empty field named in ``cleaners`` by its canonical form; return field -> messages.

    Used by ``clean()`` so that a value typed as printed (``12-345-6789``) is stored the way the filters
    and matchers look for it (``123456789``).
    """
    errors: dict[str, list[str]] = {}
    for name, clean in cleaners.items():
        value = getattr(instance, name)
        if value in (None, ""):
            continue
        try:
            setattr(instance, name, clean(value))
        except ValidationError as exc:
            errors[name] = exc.messages
    return errors


class Supplier(GoldenRecord):
    """A company the hospital buys from (manufacturer, distributor, service provider)."""

    normalizers = SUPPLIER_IDENTIFIERS

    legal_name = models.CharField(max_length=255, db_index=True)
    duns = models.CharField("D-U-N-S", max_length=9, blank=True, db_index=True, help_text="9 digits.")
    uei = models.CharField("UEI", max_length=12, blank=True, db_index=True, help_text="SAM.gov Unique Entity ID.")
    ein = models.CharField("EIN", max_length=10, blank=True, db_index=True, help_text="US EIN as NN-NNNNNNN.")
    vat = models.CharField(
        "VAT number", max_length=20, blank=True, db_index=True, help_text="With its country prefix (DE136695976)."
    )
    gln = models.CharField("GLN", max_length=13, blank=True, db_index=True, help_text="GS1 Global Location Number.")
    hibcc_lic = models.CharField(
        "HIBCC LIC", max_length=4, blank=True, db_index=True, help_text="HIBCC Labeler Identification Code."
    )
    screening_status = models.CharField(
        max_length=16, choices=ScreeningStatus.choices, default=ScreeningStatus.NOT_SCREENED, db_index=True
    )
    screened_on = models.DateField(null=True, blank=True, help_text="Date of the last exclusion screening.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["legal_name", "id"]

    def __str__(self):
        return self.legal_name

    def clean(self):
        errors = normalize_fields(self, self.normalizers)
        if errors:
            raise ValidationError(errors)


class SupplierAlias(GoldenChild):
    """Another name the supplier goes by: a trading name, a former name, or how one source writes it."""

    supplier = HistoricForeignKey(Supplier, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=255, db_index=True)
    kind = models.CharField(max_length=16, choices=AliasKind.choices, default=AliasKind.TRADING)
    system = models.ForeignKey(
        "mdm.SourceSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The source system that gave this name (empty: entered by a steward).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "supplier aliases"
        constraints = [models.UniqueConstraint(fields=["supplier", "name"], name="supplier_alias_unique_name")]

    def __str__(self):
        return self.name


class SupplierAddress(GoldenChild):
    normalizers = {"country": clean_country, "gln": clean_gln}

    supplier = HistoricForeignKey(Supplier, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=16, choices=AddressKind.choices, default=AddressKind.OTHER)
    line1 = models.CharField(max_length=255)
    line2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, db_index=True, help_text="ISO 3166 alpha-2 code (US, DE).")
    gln = models.CharField("GLN", max_length=13, blank=True, db_index=True, help_text="GLN of this location.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "id"]
        verbose_name_plural = "supplier addresses"

    def __str__(self):
        return ", ".join(part for part in (self.line1, self.city, self.country) if part)

    def clean(self):
        errors = normalize_fields(self, self.normalizers)
        if errors:
            raise ValidationError(errors)


class SupplierContact(GoldenChild):
    supplier = HistoricForeignKey(Supplier, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.role})" if self.role else self.name


def bank_account_problems(*, iban: str, aba_routing: str, account_number: str) -> dict[str, str]:
    """The "exactly one of IBAN or ABA routing + account number" rule, as field -> message."""
    if iban and (aba_routing or account_number):
        return {"iban": "Give either an IBAN or an ABA routing number with an account number, not both."}
    if iban:
        return {}
    if aba_routing and not account_number:
        return {"account_number": "An account number is required with an ABA routing number."}
    if account_number and not aba_routing:
        return {"aba_routing": "An ABA routing number is required with an account number."}
    if not account_number:
        return {"iban": "Give an IBAN, or an ABA routing number and an account number."}
    return {}


class SupplierBankAccount(GoldenChild):
    """Where the supplier is paid. The IBAN and account number are encrypted at rest.

    Only ``last4`` is kept in clear, so lists, search and the history (which shows that an account
    changed, the classic payment-diversion fraud signal) never need the secret. The secret columns are
    not ``editable``: no form, serializer or history diff picks them up by default.
    """

    normalizers = {
        "iban": clean_iban,
        "aba_routing": clean_aba_routing,
        "account_number": clean_bank_account_number,
        "currency": clean_currency,
    }

    supplier = HistoricForeignKey(Supplier, on_delete=models.CASCADE, related_name="bank_accounts")
    holder_name = models.CharField(max_length=255)
    bank_name = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217 code (USD, EUR).")
    iban = EncryptedTextField("IBAN", blank=True, editable=False)
    # Routing numbers identify a bank, not an account: they are public and stay searchable.
    aba_routing = models.CharField("ABA routing number", max_length=9, blank=True)
    account_number = EncryptedTextField(blank=True, editable=False)
    last4 = models.CharField(
        "last 4", max_length=4, blank=True, db_index=True, help_text="Last four characters of the IBAN or account."
    )
    is_primary = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "id"]
        # Seeing the full number is a sensitive read (audited as bank.view / bank.export), not part of "view".
        permissions = [("reveal_supplierbankaccount", "Can see unmasked bank account numbers")]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier"], condition=models.Q(is_primary=True), name="supplier_one_primary_bank_account"
            )
        ]

    def __str__(self):
        return f"{self.holder_name} {self.masked}".strip()

    @property
    def masked(self) -> str:
        """The account as ``••••1234``: safe to show anywhere."""
        return mask(self.last4)

    def clean(self):
        errors = normalize_fields(self, self.normalizers)
        if not errors:
            for field, message in bank_account_problems(
                iban=self.iban, aba_routing=self.aba_routing, account_number=self.account_number
            ).items():
                errors[field] = [message]
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.last4 = (self.iban or self.account_number or "")[-4:]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"iban", "account_number"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "last4"}
        super().save(*args, **kwargs)
