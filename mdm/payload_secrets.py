"""Secrets inside source payloads (bank account numbers): sealed at rest, masked on display.

An entity spec names its secret fields as dotted paths with ``*`` for list positions
(``bank_accounts.*.iban``). Ingest hashes and validates the payload as received, then stores it with
each secret value replaced by ``{"sealed": <Fernet token>, "last4": "6789"}``: the database never
holds the clear number, yet an authorised process can still unseal what the source sent.
"""

import copy
from typing import Any

from mdm import crypto, registry

SEALED = "sealed"


def _walk(node: Any, parts: list[str], visit) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        children = list(enumerate(node)) if isinstance(node, list) else []
    elif isinstance(node, dict) and head in node:
        children = [(head, node[head])]
    else:
        children = []
    for key, child in children:
        if rest:
            _walk(child, rest, visit)
        else:
            visit(node, key, child)


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and SEALED in value


def seal(payload: dict, paths: tuple[str, ...]) -> dict:
    """A copy of ``payload`` with every secret value at ``paths`` encrypted (non-empty strings only)."""
    if not paths:
        return payload
    sealed = copy.deepcopy(payload)

    def visit(parent, key, value):
        if value in (None, "") or _is_sealed(value):
            return
        text = str(value)
        parent[key] = {SEALED: crypto.encrypt(text), "last4": text.replace(" ", "")[-4:]}

    for path in paths:
        _walk(sealed, path.split("."), visit)
    return sealed


def unseal(payload: dict, paths: tuple[str, ...]) -> dict:
    """The payload as the source sent it (secrets decrypted). Only for processes that need the number."""
    if not paths:
        return payload
    clear = copy.deepcopy(payload)

    def visit(parent, key, value):
        if _is_sealed(value):
            parent[key] = crypto.decrypt(value[SEALED])

    for path in paths:
        _walk(clear, path.split("."), visit)
    return clear


def masked(payload: dict, paths: tuple[str, ...]) -> dict:
    """The payload for display: each secret shown as ``••••6789``."""
    if not paths:
        return payload
    shown = copy.deepcopy(payload)

    def visit(parent, key, value):
        if _is_sealed(value):
            parent[key] = crypto.mask(value.get("last4", ""))
        elif value not in (None, ""):
            parent[key] = crypto.mask(str(value))

    for path in paths:
        _walk(shown, path.split("."), visit)
    return shown


def secret_paths(entity_type: str) -> tuple[str, ...]:
    """The secret paths registered for ``entity_type`` (none for an unknown type)."""
    try:
        return registry.get(entity_type).secret_paths
    except KeyError:
        return ()
