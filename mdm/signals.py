"""Signals the MDM machinery sends; other apps (sync/) listen without mdm importing them."""

from django.dispatch import Signal

#: Sent inside the transaction that saved a golden record (``GoldenRecord.save`` and bulk paths that bypass it),
#: with ``instance`` and ``created``. Receivers write in the same transaction: the outbox relies on it.
golden_saved = Signal()
