"""The one error the unit registry, the converters and the pack-string parser raise."""


class ConversionError(ValueError):
    """A conversion that can't be done, with a machine-readable ``code`` and the input ``field`` at fault.

    Codes: ``unknown_unit``, ``incompatible_dimensions``, ``no_content``, ``not_in_packaging``,
    ``invalid_quantity``, ``unknown_item``, ``invalid_packaging``, ``ambiguous_unit``.
    Fields: ``from``, ``to``, ``unit``, ``qty``, ``item``, ``packaging``. ``str(error)`` is the message.
    """

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"ConversionError({self.code!r}, {self.message!r}, field={self.field!r})"
