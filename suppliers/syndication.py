"""A supplier as downstream systems receive it (the outbox payload; sealed by sync before it is stored)."""


def supplier_publish(supplier) -> dict:
    return {
        "entity_type": "supplier",
        "id": supplier.pk,
        "version": supplier.version,
        "status": supplier.status,
        "merged_into": None,
        "legal_name": supplier.legal_name,
        "aliases": [{"name": a.name, "kind": a.kind} for a in supplier.aliases.order_by("pk")],
        "duns": supplier.duns,
        "uei": supplier.uei,
        "ein": supplier.ein,
        "vat": supplier.vat,
        "gln": supplier.gln,
        "hibcc_lic": supplier.hibcc_lic,
        "screening_status": supplier.screening_status,
        "addresses": [
            {
                "kind": a.kind,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "region": a.region,
                "postal_code": a.postal_code,
                "country": a.country,
                "gln": a.gln,
            }
            for a in supplier.addresses.order_by("pk")
        ],
        "contacts": [
            {"name": c.name, "role": c.role, "email": c.email, "phone": c.phone}
            for c in supplier.contacts.order_by("pk")
        ],
        # Clear here only for the moment it takes sync to seal them (secret_paths); never stored like this.
        "bank_accounts": [
            {
                "id": b.pk,
                "holder_name": b.holder_name,
                "bank_name": b.bank_name,
                "currency": b.currency,
                "iban": b.iban or "",
                "account_number": b.account_number or "",
                "aba_routing": b.aba_routing,
                "is_primary": b.is_primary,
            }
            for b in supplier.bank_accounts.order_by("pk")
        ],
    }
