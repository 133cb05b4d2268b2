"""Field encryption with rotation: the first key in FIELD_ENCRYPTION_KEY encrypts, all keys decrypt."""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set: encrypted fields cannot be read or written.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be comma-separated url-safe base64 Fernet keys (32 bytes each)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored value cannot be decrypted with the configured FIELD_ENCRYPTION_KEY") from exc


def key_id(key: str) -> str:
    """A short public name of a key (the start of its SHA-256): tells keys apart in logs without revealing them."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def rotate(token: str) -> str | None:
    """``token`` re-encrypted with the first key, or ``None`` when it already is (so a second run changes nothing).

    Raises ``DecryptionError`` when no configured key reads it. The token's timestamp is kept.
    """
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    try:
        _fernet(keys[:1]).decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return _fernet(keys).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored value cannot be decrypted with any key in FIELD_ENCRYPTION_KEY") from exc


def mask(value: str | None, visible: int = 4) -> str:
    """Show only the last ``visible`` characters: ``'••••6789'``."""
    if not value:
        return ""
    return "••••" + value[-visible:]
