"""Writes for suppliers."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date

from mdm import crypto
from mdm.services.golden import golden_save, golden_save_child
from suppliers.choices import AliasKind
from suppliers.models import (
    Supplier,
    SupplierAddress,
    SupplierAlias,
    SupplierBankAccount,
    SupplierContact,
    normalize_fields,
)

_SUPPLIER_FIELDS = {
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
}
_CHILDREN = {
    "addresses": SupplierAddress,
    "contacts": SupplierContact,
    "bank_accounts": SupplierBankAccount,
}


def _collect(instance, errors: dict, *, prefix: str = "", exclude=()) -> None:
    """Model validation, its messages keyed ``prefix + field``; identifiers are stored canonical.

    Identifiers are normalized first: the printed form (``12-345-6789``) is longer than the column, and
    the column length check would refuse it before the model's ``clean()`` normalizes it.
    """
    problems = normalize_fields(instance, getattr(instance, "normalizers", {}))
    for field, messages in problems.items():
        errors.setdefault(f"{prefix}{field}", []).extend(messages)
    try:
        # Uniqueness and constraints are settled before saving (aliases deduplicated, one primary account).
        instance.full_clean(exclude=[*exclude, *problems], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            known = errors.setdefault(f"{prefix}{field}", [])
            # clean() normalizes again, so a bad identifier would otherwise be reported twice.
            known.extend(message for message in messages if message not in known)


def _alias_rows(aliases, *, legal_name: str, system) -> list[SupplierAlias]:
    """Aliases as rows: a string is a trading name; a dict gives ``name`` and ``kind``. Repeats are dropped."""
    seen = {legal_name.casefold()}
    rows = []
    for alias in aliases:
        fields = {"name": alias} if isinstance(alias, str) else dict(alias)
        fields.setdefault("kind", AliasKind.TRADING)
        fields.setdefault("system", system)
        fields["name"] = " ".join(str(fields.get("name") or "").split())
        key = fields["name"].casefold()
        if key in seen:
            continue
        seen.add(key)
        rows.append(SupplierAlias(**fields))
    return rows


@transaction.atomic
def supplier_create(*, data: dict, system=None, actor, reason: str) -> Supplier:
    """Create a supplier golden record with its aliases, addresses, contacts and bank accounts, all or nothing.

    ``data`` uses the model's field names, plus the lists ``aliases`` (strings, or ``{name, kind}``),
    ``addresses``, ``contacts`` and ``bank_accounts`` (dicts of the child model's fields; a bank account
    has a clear ``iban`` or ``aba_routing`` + ``account_number``, encrypted when saved). Identifiers may
    be given in any accepted form and are stored canonical. Aliases given here are credited to
    ``system``. Without an ``is_primary`` account, the first bank account becomes the primary one.

    Raises Django's ``ValidationError`` keyed by field (``bank_accounts[0].iban``) and writes nothing
    when the data is invalid.
    """
    data = dict(data)
    aliases = list(data.pop("aliases", None) or [])
    children = {name: [dict(row) for row in data.pop(name, None) or []] for name in _CHILDREN}
    unknown = set(data) - _SUPPLIER_FIELDS
    if unknown:
        raise ValueError(f"supplier_create got unknown field(s): {', '.join(sorted(unknown))}")

    errors: dict[str, list[str]] = {}
    supplier = Supplier(**data)
    _collect(supplier, errors)
    alias_rows = _alias_rows(aliases, legal_name=supplier.legal_name or "", system=system)
    for index, alias in enumerate(alias_rows):
        _collect(alias, errors, prefix=f"aliases[{index}].", exclude=["supplier", "system"])

    accounts = children["bank_accounts"]
    if accounts and not any(account.get("is_primary") for account in accounts):
        accounts[0]["is_primary"] = True
    primaries = [index for index, account in enumerate(accounts) if account.get("is_primary")]
    for index in primaries[1:]:
        errors[f"bank_accounts[{index}].is_primary"] = [
            f"Only one bank account can be primary; bank account {primaries[0]} already is."
        ]

    rows = []
    for name, model in _CHILDREN.items():
        for index, fields in enumerate(children[name]):
            row = model(**fields)
            _collect(row, errors, prefix=f"{name}[{index}].", exclude=["supplier"])
            rows.append(row)
    if errors:
        raise ValidationError(errors)

    golden_save(supplier, actor=actor, reason=reason)
    for row in [*alias_rows, *rows]:
        row.supplier = supplier
        golden_save_child(row, actor=actor, reason=reason)
    return supplier


def _bank_account_from_standardized(account: dict) -> dict:
    # The standardized payload carries the secret as a Fernet token, never in clear (see serializers).
    return {
        "holder_name": account["holder_name"],
        "bank_name": account.get("bank_name") or "",
        "currency": account.get("currency") or "",
        "aba_routing": account.get("aba_routing") or "",
        "iban": crypto.decrypt(account["iban_encrypted"]) if account.get("iban_encrypted") else "",
        "account_number": (
            crypto.decrypt(account["account_number_encrypted"]) if account.get("account_number_encrypted") else ""
        ),
    }


def supplier_create_from_payload(standardized: dict, *, system, actor, reason: str) -> Supplier:
    """``EntitySpec.create_golden`` for suppliers: a validated payload (``SupplierPayloadSerializer``) to a golden supplier."""
    data = {key: value for key, value in standardized.items() if key in _SUPPLIER_FIELDS}
    if isinstance(data.get("screened_on"), str):
        data["screened_on"] = parse_date(data["screened_on"])
    data["aliases"] = list(standardized.get("aliases") or [])
    data["addresses"] = list(standardized.get("addresses") or [])
    data["contacts"] = list(standardized.get("contacts") or [])
    data["bank_accounts"] = [_bank_account_from_standardized(b) for b in standardized.get("bank_accounts") or []]
    return supplier_create(data=data, system=system, actor=actor, reason=reason)


@transaction.atomic
def supplier_rename(
    supplier: Supplier, *, legal_name: str, actor, reason: str, expected_version: int | None = None
) -> Supplier:
    """Change a supplier's legal name, keeping the old one as a ``former`` alias so matching still finds it.

    With ``expected_version`` the rename is refused (``StaleVersionError``) when the record changed since.
    """
    old_name = supplier.legal_name
    supplier.legal_name = " ".join(legal_name.split())
    errors: dict[str, list[str]] = {}
    _collect(supplier, errors)
    if errors:
        raise ValidationError(errors)
    golden_save(supplier, actor=actor, reason=reason, expected_version=expected_version)
    if old_name.casefold() != supplier.legal_name.casefold():
        known = {name.casefold() for name in supplier.aliases.values_list("name", flat=True)}
        if old_name.casefold() not in known:
            golden_save_child(
                SupplierAlias(supplier=supplier, name=old_name, kind=AliasKind.FORMER), actor=actor, reason=reason
            )
    return supplier
