"""Model fields shared by the apps."""

from django.db import models

from mdm import crypto


class EncryptedTextField(models.TextField):
    """Holds a secret encrypted at rest (Fernet, AES-128-CBC + HMAC); the column never has the clear value.

    Lookups other than ``isnull`` are meaningless on ciphertext, so keep a separate clear column for
    anything that must be searched (for example the last four digits of an account number).
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
