"""How stewards change suppliers through change requests: the ``StewardshipAdapter`` registered in apps.py.

Values are JSON-safe, because change requests store them: dates as ISO strings, aliases as a list of names,
bank accounts as dicts. A bank account number never appears in clear: a snapshot shows it masked
(``••••3000``) with a fingerprint, so the diff shows that it changed without showing it, and a new number
proposed by a steward is encrypted by ``validate`` before the request is stored.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_date

from mdm import crypto
from mdm.identifiers import clean_duns, clean_ein, clean_gln, clean_hibcc_lic, clean_uei, clean_vat
from mdm.registry import StewardshipAdapter
from suppliers.choices import AliasKind, ScreeningStatus
from suppliers.models import Supplier, SupplierAlias, SupplierBankAccount
from suppliers.services import (
    SUPPLIER_CHANGE_FIELDS,
    supplier_changes_clean,
    supplier_create,
    supplier_update,
)

SCALARS = SUPPLIER_CHANGE_FIELDS[:9]
IDENTIFIERS = {
    "duns": clean_duns,
    "uei": clean_uei,
    "ein": clean_ein,
    "vat": clean_vat,
    "gln": clean_gln,
    "hibcc_lic": clean_hibcc_lic,
}

LABELS = {
    "legal_name": "Legal name",
    "duns": "D-U-N-S",
    "uei": "UEI",
    "ein": "EIN",
    "vat": "VAT number",
    "gln": "GLN",
    "hibcc_lic": "HIBCC LIC",
    "screening_status": "Screening status",
    "screened_on": "Screened on",
    "aliases": "Aliases",
    "bank_accounts": "Bank accounts",
}


def fingerprint(number: str) -> str:
    """A short keyed SHA-256 of a clear bank number: equal numbers give equal fingerprints, nothing more.

    Keyed (HMAC with ``MDM_FINGERPRINT_KEY``, by default SECRET_KEY) because a plain hash of a 10-digit account
    number is reversed by trying every number.
    """
    if not number:
        return ""
    return salted_hmac(
        "suppliers.bank-account-fingerprint", number, secret=settings.MDM_FINGERPRINT_KEY, algorithm="sha256"
    ).hexdigest()[:12]


def _account_public(account: SupplierBankAccount) -> dict:
    number = account.iban or account.account_number or ""
    return {
        "id": account.pk,
        "holder_name": account.holder_name,
        "bank_name": account.bank_name,
        "currency": account.currency,
        "aba_routing": account.aba_routing,
        "account": crypto.mask(number[-4:]),
        "fingerprint": fingerprint(number),
        "is_primary": account.is_primary,
    }


def _aliases(supplier: Supplier) -> list[str]:
    # Sorted in Python, not by the database collation, so a snapshot and a validated list compare equal.
    return sorted((alias.name for alias in supplier.aliases.all()), key=lambda name: (name.casefold(), name))


def _account_sort_key(account: dict):
    # The order a snapshot lists accounts in after the change: primary first, then by id, new ones last.
    return (not account["is_primary"], account["id"] is None, account["id"] or 0)


def snapshot(supplier: Supplier) -> dict:
    """The editable fields of ``supplier``, JSON-safe; bank numbers masked and fingerprinted, never clear."""
    values = {name: getattr(supplier, name) for name in SCALARS}
    values["screened_on"] = supplier.screened_on.isoformat() if supplier.screened_on else None
    values["aliases"] = _aliases(supplier)
    accounts = [_account_public(account) for account in supplier.bank_accounts.all()]
    values["bank_accounts"] = sorted(accounts, key=_account_sort_key)
    return values


def validate(changes: dict, supplier: Supplier | None) -> dict:
    """Normalized, JSON-safe values of the given fields; ``ValidationError`` keyed by field otherwise.

    A bank account with an ``id`` keeps that account (its number too, unless a new one is given). A new
    number comes back encrypted (``iban_encrypted`` / ``account_number_encrypted``) with its mask and
    fingerprint: the change request never stores it in clear.
    """
    cleaned = supplier_changes_clean(dict(changes), supplier)
    out = {name: cleaned[name] for name in SCALARS if name in cleaned}
    if "screened_on" in out:
        out["screened_on"] = out["screened_on"].isoformat() if out["screened_on"] else None
    if "aliases" in cleaned:
        out["aliases"] = cleaned["aliases"]
    if "bank_accounts" in cleaned:
        existing = {account.pk: account for account in supplier.bank_accounts.all()} if supplier else {}
        accounts = []
        for entry in cleaned["bank_accounts"]:
            account = {key: entry[key] for key in ("holder_name", "bank_name", "currency", "aba_routing")}
            account["is_primary"] = entry["is_primary"]
            if "iban" in entry or "account_number" in entry:
                iban, number = entry.get("iban") or "", entry.get("account_number") or ""
                account.update(
                    iban_encrypted=crypto.encrypt(iban) if iban else "",
                    account_number_encrypted=crypto.encrypt(number) if number else "",
                    account=crypto.mask((iban or number)[-4:]),
                    fingerprint=fingerprint(iban or number),
                )
            else:
                public = _account_public(existing[entry["id"]])
                account.update(account=public["account"], fingerprint=public["fingerprint"])
            accounts.append({"id": entry["id"], **account})
        out["bank_accounts"] = sorted(accounts, key=_account_sort_key)
    return out


def _clear_accounts(accounts: list[dict]) -> list[dict]:
    """Validated accounts as ``supplier_create`` takes them: the numbers decrypted, display keys dropped."""
    rows = []
    for entry in accounts:
        row = {key: entry[key] for key in ("holder_name", "bank_name", "currency", "aba_routing", "is_primary")}
        for key in ("iban", "account_number"):
            token = entry.get(f"{key}_encrypted")
            row[key] = crypto.decrypt(token) if token else entry.get(key) or ""
        rows.append(row)
    return rows


def create(data: dict, *, actor, reason: str) -> Supplier:
    """A new supplier from validated values (``validate(data, None)``)."""
    data = dict(data)
    if isinstance(data.get("screened_on"), str):
        data["screened_on"] = parse_date(data["screened_on"])
    if "bank_accounts" in data:
        data["bank_accounts"] = _clear_accounts(data["bank_accounts"] or [])
    return supplier_create(data=data, actor=actor, reason=reason)


def update(supplier: Supplier, changes: dict, *, actor, reason: str) -> Supplier:
    """Apply validated values of some fields (``supplier_update``: aliases and accounts are replaced)."""
    return supplier_update(supplier, changes=changes, actor=actor, reason=reason)


def scope(supplier: Supplier | None, values: dict | None = None) -> dict:
    """Approvers are scoped to a supplier (``ApprovalScope.supplier``); a new supplier has no scope yet."""
    return {"supplier_id": supplier.pk if supplier is not None else None}


SURVIVORSHIP = {
    "legal_name": "trust",
    **dict.fromkeys(IDENTIFIERS, "trust"),
    "screening_status": "recent",
    "screened_on": "recent",
}


def source_values(standardized: dict) -> dict:
    """A standardized supplier payload (``SupplierPayloadSerializer``) as golden values, scalars only.

    Keys the payload does not carry are left out. ``not_screened`` is the serializer's default, so it says
    nothing about screening and comes back empty (it must never win over a real outcome as "most recent").
    """
    values = {name: standardized[name] for name in SCALARS if name in standardized}
    for name, value in values.items():
        if value is None and name != "screened_on":
            values[name] = ""
    if values.get("screening_status") == ScreeningStatus.NOT_SCREENED:
        values["screening_status"] = ""
    if values.get("screened_on") == "":
        values["screened_on"] = None
    return values


def merge_children(survivor: Supplier, merged: Supplier, *, actor, reason: str) -> list[dict]:
    """The merged supplier's legal name (a ``former`` alias) and aliases become aliases of the survivor.

    Names the survivor already has (as legal name or alias, in any case) are skipped. Returns one
    ``create`` move per new alias row: the unmerge deletes them.
    """
    from mdm.services.golden import golden_save_child

    known = {
        survivor.legal_name.casefold(),
        *(name.casefold() for name in survivor.aliases.values_list("name", flat=True)),
    }
    wanted = [(merged.legal_name, AliasKind.FORMER, None)]
    wanted += [(alias.name, alias.kind, alias.system_id) for alias in merged.aliases.all()]
    moves = []
    for name, kind, system_id in wanted:
        if not name or name.casefold() in known:
            continue
        known.add(name.casefold())
        alias = golden_save_child(
            SupplierAlias(supplier=survivor, name=name, kind=kind, system_id=system_id), actor=actor, reason=reason
        )
        moves.append({"op": "create", "model": "suppliers.SupplierAlias", "pk": alias.pk})
    return moves


def _identifier_matches(text: str) -> Q:
    condition = Q(pk__in=[])
    for name, clean in IDENTIFIERS.items():
        try:
            value = clean(text)
        except ValidationError:  # not this identifier's form
            continue
        condition |= Q(**{name: value})
    return condition


def search(text: str):
    """Suppliers whose legal name or an alias contains every word of ``text`` (case-insensitive), or whose
    D-U-N-S, UEI, EIN, VAT, GLN or HIBCC code is ``text`` in any accepted form (``12-345-6789``).

    Contains-searches on names are served by the trigram indexes on PostgreSQL (``mdm.trigram``). Every
    status is included: the UI filters.
    """
    text = " ".join(str(text or "").split())
    if not text:
        return Supplier.objects.none()
    names = Q()
    for word in text.split()[:8]:
        aliases = SupplierAlias.objects.filter(name__icontains=word).values("supplier_id")
        names &= Q(legal_name__icontains=word) | Q(pk__in=aliases)
    return Supplier.objects.filter(names | _identifier_matches(text))


def label(supplier: Supplier) -> str:
    return supplier.legal_name


ADAPTER = StewardshipAdapter(
    fields=SUPPLIER_CHANGE_FIELDS,
    snapshot=snapshot,
    validate=validate,
    create=create,
    update=update,
    labels=LABELS,
    sensitive=("ein", "vat", "bank_accounts"),
    low_risk=("aliases",),
    scope=scope,
    survivorship=SURVIVORSHIP,
    source_values=source_values,
    merge_children=merge_children,
    search=search,
    label=label,
)
