from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from simple_history.admin import SimpleHistoryAdmin

from mdm.admin_mixins import GoldenAdminMixin, GovernedChildAdminMixin
from mdm.identifiers import clean_bank_account_number, clean_iban
from suppliers.models import (
    SUPPLIER_IDENTIFIERS,
    Supplier,
    SupplierAddress,
    SupplierAlias,
    SupplierBankAccount,
    SupplierContact,
)

BANK_SECRET_FIELDS = ("iban", "account_number")


class SupplierAdminForm(forms.ModelForm):
    """Stewards may type identifiers as printed (12-345-6789); they are stored canonical (123456789)."""

    # Wider than the columns: the printed forms carry hyphens and spaces. Model.clean() normalizes,
    # but the column length check runs before it, so the form normalizes first.
    duns = forms.CharField(label="D-U-N-S", required=False, max_length=32)
    uei = forms.CharField(label="UEI", required=False, max_length=32)
    ein = forms.CharField(label="EIN", required=False, max_length=32)
    vat = forms.CharField(label="VAT number", required=False, max_length=32)
    gln = forms.CharField(label="GLN", required=False, max_length=32)
    hibcc_lic = forms.CharField(label="HIBCC LIC", required=False, max_length=32)

    class Meta:
        model = Supplier
        fields = [
            "legal_name",
            "duns",
            "uei",
            "ein",
            "vat",
            "gln",
            "hibcc_lic",
            "screening_status",
            "screened_on",
            "status",
        ]

    def clean(self):
        cleaned = super().clean()
        for name, clean in SUPPLIER_IDENTIFIERS.items():
            value = (cleaned.get(name) or "").strip()
            if not value:
                continue
            try:
                cleaned[name] = clean(value)
            except ValidationError as exc:
                self.add_error(name, exc)
        return cleaned


class SupplierBankAccountForm(forms.ModelForm):
    """Bank details are write-only here: a new IBAN or account number can be typed, never read back.

    The secret columns are not form fields at all (they are not ``editable``), so no page renders them;
    the account is shown as ``••••1234`` (the read-only ``masked``).
    """

    new_iban = forms.CharField(
        label="New IBAN",
        required=False,
        max_length=64,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Replaces the account by this IBAN. Leave empty to keep the current account.",
    )
    new_account_number = forms.CharField(
        label="New account number",
        required=False,
        max_length=34,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="US account number (with the ABA routing number). Leave empty to keep the current account.",
    )

    class Meta:
        model = SupplierBankAccount
        fields = ["supplier", "holder_name", "bank_name", "currency", "aba_routing", "is_primary"]

    def clean_new_iban(self):
        value = self.cleaned_data["new_iban"]
        return clean_iban(value) if value else ""

    def clean_new_account_number(self):
        value = self.cleaned_data["new_account_number"]
        return clean_bank_account_number(value) if value else ""

    def clean(self):
        cleaned = super().clean()
        new_iban, new_account = cleaned.get("new_iban"), cleaned.get("new_account_number")
        if new_iban and new_account:
            self.add_error("new_iban", "Give either a new IBAN or a new account number, not both.")
        elif new_iban:
            self.instance.iban, self.instance.account_number = new_iban, ""
        elif new_account:
            self.instance.iban, self.instance.account_number = "", new_account
        # The model's clean() then checks the whole account (one of IBAN or routing + account number).
        return cleaned

    def _update_errors(self, errors):
        # Model.clean() names the model's columns; on this form they are the write-only fields.
        rename = {"iban": "new_iban", "account_number": "new_account_number", "last4": NON_FIELD_ERRORS}
        error_dict = {}
        for field, messages in errors.error_dict.items():
            error_dict.setdefault(rename.get(field, field), []).extend(messages)
        super()._update_errors(ValidationError(error_dict))


class SupplierAliasInline(admin.TabularInline):
    model = SupplierAlias
    extra = 0
    fields = ["name", "kind", "system"]


class SupplierAddressInline(admin.StackedInline):
    model = SupplierAddress
    extra = 0
    fields = [("kind", "gln"), "line1", "line2", ("city", "region", "postal_code", "country")]


class SupplierContactInline(admin.TabularInline):
    model = SupplierContact
    extra = 0
    fields = ["name", "role", "email", "phone"]


class SupplierBankAccountInline(admin.StackedInline):
    model = SupplierBankAccount
    form = SupplierBankAccountForm
    extra = 0
    fields = [
        ("holder_name", "bank_name", "currency", "is_primary"),
        "masked",
        "aba_routing",
        ("new_iban", "new_account_number"),
    ]
    readonly_fields = ["masked"]

    def get_queryset(self, request):
        # Rendering never needs the secrets (the form shows ``masked``), but saving does: they load on access.
        return super().get_queryset(request).defer(*BANK_SECRET_FIELDS)

    @admin.display(description="Account")
    def masked(self, obj):
        return obj.masked if obj and obj.pk else "—"


@admin.register(Supplier)
class SupplierAdmin(GoldenAdminMixin, SimpleHistoryAdmin):
    form = SupplierAdminForm
    list_display = ["legal_name", "duns", "ein", "vat", "screening_status", "status", "version", "updated_at"]
    list_filter = ["status", "screening_status"]
    # Identifiers match exactly ("=") so they use their indexes; names are a contains search.
    search_fields = ["legal_name", "aliases__name", "=duns", "=uei", "=ein", "=vat", "=gln", "=hibcc_lic"]
    ordering = ["legal_name", "id"]
    inlines = [SupplierAliasInline, SupplierAddressInline, SupplierContactInline, SupplierBankAccountInline]


class ChildAdmin(GovernedChildAdminMixin, SimpleHistoryAdmin):
    """Rows owned by a supplier: the supplier is loaded with the list and picked by autocomplete."""

    list_select_related = ["supplier"]
    autocomplete_fields = ["supplier"]
    show_full_result_count = False
    list_per_page = 50


@admin.register(SupplierAlias)
class SupplierAliasAdmin(ChildAdmin):
    list_display = ["name", "kind", "supplier", "system"]
    list_filter = ["kind"]
    search_fields = ["name", "supplier__legal_name"]
    list_select_related = ["supplier", "system"]


@admin.register(SupplierAddress)
class SupplierAddressAdmin(ChildAdmin):
    list_display = ["supplier", "kind", "line1", "city", "region", "postal_code", "country", "gln"]
    list_filter = ["kind"]
    search_fields = ["supplier__legal_name", "city", "=postal_code", "=country", "=gln"]


@admin.register(SupplierContact)
class SupplierContactAdmin(ChildAdmin):
    list_display = ["name", "role", "email", "phone", "supplier"]
    search_fields = ["name", "email", "supplier__legal_name"]


@admin.register(SupplierBankAccount)
class SupplierBankAccountAdmin(ChildAdmin):
    """Bank accounts, masked everywhere: list, change form, history list and historical versions.

    The history keeps the encrypted IBAN / account number (an investigator with database and key
    access can recover a former account after a payment-diversion fraud), and shows a change of
    account through ``last4``.
    """

    form = SupplierBankAccountForm
    list_display = ["supplier", "holder_name", "bank_name", "masked", "currency", "aba_routing", "is_primary"]
    list_filter = ["is_primary", "currency"]
    search_fields = ["=last4", "=aba_routing", "holder_name", "supplier__legal_name"]
    fields = [
        "supplier",
        ("holder_name", "bank_name"),
        ("currency", "is_primary"),
        "masked",
        "aba_routing",
        ("new_iban", "new_account_number"),
    ]
    readonly_fields = ["masked"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*BANK_SECRET_FIELDS)

    @admin.display(description="Account")
    def masked(self, obj):
        return obj.masked if obj and obj.pk else "—"

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        # The secret columns are not ``editable``, which already keeps them out of simple-history's
        # diff; this keeps them out even if that changes (the history view would show them decrypted).
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current, excluded_fields=BANK_SECRET_FIELDS, foreign_keys_are_objs=foreign_keys_are_objs
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current
