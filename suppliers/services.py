"""Writes for suppliers."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
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


# --- stewardship: changing named fields of a supplier (change requests apply these) ---------------------------

SUPPLIER_CHANGE_FIELDS = (
    "legal_name",
    "duns",
    "uei",
    "ein",
    "vat",
    "gln",
    "hibcc_lic",
    "screening_status",
    "screened_on",
    "aliases",
    "bank_accounts",
)
"""The supplier fields stewards change through change requests, in form order (scalars, then child lists)."""
_CHANGE_SCALARS = SUPPLIER_CHANGE_FIELDS[:9]
_ACCOUNT_KEYS = {
    "id",
    "holder_name",
    "bank_name",
    "currency",
    "aba_routing",
    "iban",
    "account_number",
    "iban_encrypted",
    "account_number_encrypted",
    "is_primary",
    # Shown by a snapshot (masked): accepted back and ignored, so a snapshot entry can be proposed as it is.
    "account",
    "fingerprint",
}
_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0", ""}


def _to_bool(value, errors: dict, key: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    errors.setdefault(key, []).append(f"Give true or false, not {value!r}.")
    return False


def _text(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _screened_on(value, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = parse_date(str(value).strip())
        except ValueError:
            day = None
        if day is None:
            errors.setdefault("screened_on", []).append(f"'{value}' is not a date: give it as YYYY-MM-DD.")
            return None
    if day > timezone.localdate():
        errors.setdefault("screened_on", []).append(f"The screening date {day.isoformat()} is in the future.")
    return day


def _aliases_clean(aliases, *, legal_name: str, errors: dict) -> list[str]:
    if not isinstance(aliases, list | tuple):
        errors.setdefault("aliases", []).append("Give the aliases as a list of names.")
        return []
    names: dict[str, str] = {}
    for index, alias in enumerate(aliases):
        name = _text(alias if isinstance(alias, str) else None)
        if not name:
            errors.setdefault(f"aliases[{index}]", []).append("An alias needs a name (text).")
        elif len(name) > 255:
            errors.setdefault(f"aliases[{index}]", []).append(
                f"An alias has at most 255 characters (this one has {len(name)})."
            )
        elif name.casefold() != legal_name.casefold():
            names.setdefault(name.casefold(), name)  # the legal name and repeats are not aliases
    return sorted(names.values(), key=lambda name: (name.casefold(), name))


def _secret(entry: dict, key: str, errors: dict, prefix: str) -> str:
    """The clear value of ``key`` (``iban``/``account_number``), given in clear or as ``<key>_encrypted``."""
    if entry.get(key):
        return str(entry[key])
    token = entry.get(f"{key}_encrypted")
    if not token:
        return ""
    try:
        return crypto.decrypt(str(token))
    except crypto.DecryptionError:
        errors.setdefault(f"{prefix}{key}", []).append("This encrypted value cannot be read with the hub's keys.")
        return ""


def _given(entry: dict, current, key: str, default=""):
    """An entry's value for ``key``; an existing account keeps what the entry does not mention."""
    if key in entry:
        return entry[key] if entry[key] is not None else default
    return getattr(current, key) if current is not None else default


def _bank_accounts_clean(entries, supplier: Supplier | None, errors: dict) -> list[dict]:
    if not isinstance(entries, list | tuple):
        errors.setdefault("bank_accounts", []).append("Give the bank accounts as a list.")
        return []
    existing = {account.pk: account for account in supplier.bank_accounts.all()} if supplier and supplier.pk else {}
    cleaned, positions, seen = [], [], set()
    for index, entry in enumerate(entries):
        prefix = f"bank_accounts[{index}]."
        if not isinstance(entry, dict):
            errors.setdefault(f"bank_accounts[{index}]", []).append("A bank account is an object of fields.")
            continue
        for key in sorted(set(entry) - _ACCOUNT_KEYS):
            errors.setdefault(f"{prefix}{key}", []).append("Not a bank account field.")
        current = None
        if entry.get("id") not in (None, ""):
            try:
                account_id = int(entry["id"])
            except (TypeError, ValueError):
                account_id = None
            current = existing.get(account_id)
            if current is None:
                errors.setdefault(f"{prefix}id", []).append(
                    f"Bank account {entry['id']} is not one of this supplier's accounts; "
                    "leave the id out to add a new account."
                )
                continue
            if account_id in seen:
                errors.setdefault(f"{prefix}id", []).append(f"Bank account {account_id} is listed twice.")
                continue
            seen.add(account_id)

        iban = _secret(entry, "iban", errors, prefix)
        account_number = _secret(entry, "account_number", errors, prefix)
        new_number = bool(iban or account_number)
        if current is not None and not new_number:
            iban, account_number = current.iban, current.account_number
        aba_routing = str(_given(entry, current, "aba_routing")).strip()
        if iban and "aba_routing" not in entry:
            aba_routing = ""  # a new IBAN replaces a routing + account number pair
        row = SupplierBankAccount(
            holder_name=_text(_given(entry, current, "holder_name")),
            bank_name=_text(_given(entry, current, "bank_name")),
            currency=str(_given(entry, current, "currency")).strip(),
            aba_routing=aba_routing,
            iban=iban,
            account_number=account_number,
            is_primary=_to_bool(_given(entry, current, "is_primary", False), errors, f"{prefix}is_primary"),
        )
        _collect(row, errors, prefix=prefix, exclude=["supplier"])
        account = {
            "id": current.pk if current is not None else None,
            "holder_name": row.holder_name,
            "bank_name": row.bank_name,
            "currency": row.currency,
            "aba_routing": row.aba_routing,
            "is_primary": row.is_primary,
        }
        if new_number:
            account.update(iban=row.iban, account_number=row.account_number)
        cleaned.append(account)
        positions.append(index)

    # Positions in the given list, so the message lands on the entry the steward wrote.
    primaries = [index for index, account in zip(positions, cleaned, strict=True) if account["is_primary"]]
    for index in primaries[1:]:
        errors.setdefault(f"bank_accounts[{index}].is_primary", []).append(
            f"Only one bank account can be primary; bank account {primaries[0]} already is."
        )
    if cleaned and not primaries:
        cleaned[0]["is_primary"] = True  # as supplier_create: a supplier with accounts has a primary one
    return cleaned


def supplier_changes_clean(changes: dict, supplier: Supplier | None = None) -> dict:
    """Check and normalize proposed values of the named supplier fields (``supplier`` None: a new supplier).

    Only the fields in ``changes`` are checked, so one field can be normalized on its own (a missing legal
    name of a new supplier is ``supplier_create``'s to refuse); names outside ``SUPPLIER_CHANGE_FIELDS``
    are errors. Returns identifiers canonical, ``screened_on`` a date,
    ``aliases`` a sorted list of names (repeats and the legal name dropped) and ``bank_accounts`` the
    complete new list of accounts: ``{"id": existing account or None, holder_name, bank_name, currency,
    aba_routing, is_primary}`` plus a clear ``iban`` / ``account_number`` only where a new number is given
    (in clear, or as ``iban_encrypted`` / ``account_number_encrypted``). An account named by id keeps its
    number unless a new one is given. Without a primary account the first one becomes primary.

    Raises Django's ``ValidationError`` keyed by field (``bank_accounts[1].iban``).
    """
    errors: dict[str, list[str]] = {}
    for name in sorted(set(changes) - set(SUPPLIER_CHANGE_FIELDS)):
        errors[name] = ["Not a supplier field that can be changed here."]
    cleaned: dict = {}
    candidate = Supplier(**({name: getattr(supplier, name) for name in _CHANGE_SCALARS} if supplier else {}))
    given = [name for name in _CHANGE_SCALARS if name in changes]
    for name in given:
        value = changes[name]
        if name == "screened_on":
            value = _screened_on(value, errors)
        elif name == "legal_name":
            value = _text(value)
        else:
            value = str(value).strip() if value is not None else ""
        setattr(candidate, name, value)
    checked = set(given)
    found: dict[str, list[str]] = {}
    _collect(candidate, found, exclude=[field.name for field in Supplier._meta.fields if field.name not in checked])
    for name, messages in found.items():
        if name in checked and name not in errors:  # a stored value of another field is not this change's problem
            errors[name] = messages
    for name in given:
        cleaned[name] = getattr(candidate, name)
    if "aliases" in changes:
        cleaned["aliases"] = _aliases_clean(changes["aliases"], legal_name=candidate.legal_name or "", errors=errors)
    if "bank_accounts" in changes:
        cleaned["bank_accounts"] = _bank_accounts_clean(changes["bank_accounts"], supplier, errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _delete_child(row, *, actor, reason: str) -> None:
    # The history row of a deletion records who removed it and why, like any other write.
    row._history_user = actor
    row._change_reason = reason
    row.delete()


def _aliases_replace(supplier: Supplier, names: list[str], *, actor, reason: str) -> None:
    wanted = {name.casefold(): name for name in names}
    for alias in list(supplier.aliases.all()):
        name = wanted.pop(alias.name.casefold(), None)
        if name is None:
            _delete_child(alias, actor=actor, reason=reason)
        elif name != alias.name:  # same name, new spelling: the alias keeps its kind and source
            alias.name = name
            golden_save_child(alias, actor=actor, reason=reason)
    for name in wanted.values():
        golden_save_child(SupplierAlias(supplier=supplier, name=name), actor=actor, reason=reason)


_ACCOUNT_FIELDS = ("holder_name", "bank_name", "currency", "aba_routing", "is_primary")


def _bank_accounts_replace(supplier: Supplier, accounts: list[dict], *, actor, reason: str) -> None:
    existing = {account.pk: account for account in supplier.bank_accounts.all()}
    kept = {entry["id"]: entry for entry in accounts if entry.get("id")}
    for pk, account in existing.items():
        if pk not in kept:
            _delete_child(account, actor=actor, reason=reason)
    # One primary account per supplier is a database constraint: step the old primary down first.
    for pk, entry in kept.items():
        if existing[pk].is_primary and not entry["is_primary"]:
            existing[pk].is_primary = False
            golden_save_child(existing[pk], actor=actor, reason=reason)
    for entry in accounts:
        values = {name: entry[name] for name in _ACCOUNT_FIELDS}
        if "iban" in entry or "account_number" in entry:
            values.update(iban=entry.get("iban") or "", account_number=entry.get("account_number") or "")
        account = existing.get(entry.get("id")) if entry.get("id") else None
        if account is None:
            golden_save_child(SupplierBankAccount(supplier=supplier, **values), actor=actor, reason=reason)
        elif any(getattr(account, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(account, name, value)
            golden_save_child(account, actor=actor, reason=reason)


@transaction.atomic
def supplier_update(
    supplier: Supplier, *, changes: dict, actor, reason: str, expected_version: int | None = None
) -> Supplier:
    """Change the named fields of a supplier (``SUPPLIER_CHANGE_FIELDS``), all or nothing, with history.

    ``changes`` takes the forms ``supplier_changes_clean`` accepts. ``aliases`` and ``bank_accounts`` replace
    the supplier's aliases and accounts (rows left out are deleted; their history keeps them). A new legal
    name keeps the old one as a ``former`` alias, as ``supplier_rename`` does. The supplier's version goes up
    even when only its aliases or accounts change, so a request based on the old version is seen as stale.
    With ``expected_version`` the update is refused (``StaleVersionError``) when the record changed since.
    """
    cleaned = supplier_changes_clean(changes, supplier)
    old_name = supplier.legal_name
    for name in _CHANGE_SCALARS:
        if name in cleaned:
            setattr(supplier, name, cleaned[name])
    golden_save(supplier, actor=actor, reason=reason, expected_version=expected_version)
    if "aliases" in cleaned:
        _aliases_replace(supplier, cleaned["aliases"], actor=actor, reason=reason)
    if old_name and old_name.casefold() != supplier.legal_name.casefold():
        known = {name.casefold() for name in supplier.aliases.values_list("name", flat=True)}
        if old_name.casefold() not in known:
            golden_save_child(
                SupplierAlias(supplier=supplier, name=old_name, kind=AliasKind.FORMER), actor=actor, reason=reason
            )
    if "bank_accounts" in cleaned:
        _bank_accounts_replace(supplier, cleaned["bank_accounts"], actor=actor, reason=reason)
    return supplier
