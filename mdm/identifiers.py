"""Identifier validation and normalization shared by every app.

Each ``clean_*`` function takes user input, returns the canonical stored form, and raises
``django.core.exceptions.ValidationError`` with a message that says what is wrong and what is expected.
Check-digit algorithms come from python-stdnum where it has them.
"""

import re

from django.core.exceptions import ValidationError
from stdnum import ean, iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import ein, rtn

_SEPARATORS = re.compile(r"[\s\-./]")


def _digits_only(value: str) -> str:
    return _SEPARATORS.sub("", str(value).strip())


def clean_gtin(value: str) -> str:
    """Validate a GTIN-8/12/13/14 (check digit) and return it as 14 digits."""
    digits = _digits_only(value)
    if not digits.isdigit():
        raise ValidationError(f"GTIN '{value}' must contain digits only.", code="gtin_format")
    if len(digits) not in (8, 12, 13, 14):
        raise ValidationError(
            f"GTIN '{value}' has {len(digits)} digits; a GTIN has 8, 12, 13 or 14.", code="gtin_length"
        )
    if not ean.is_valid(digits):
        expected = ean.calc_check_digit(digits[:-1])
        raise ValidationError(
            f"GTIN '{value}' has a wrong check digit: expected {expected}, got {digits[-1]}.", code="gtin_check_digit"
        )
    return digits.zfill(14)


def gtin_indicator(gtin14: str) -> int:
    """The GTIN-14 indicator (packaging level) digit: 0 for the base unit, 1-8 for packs, 9 variable measure."""
    return int(gtin14[0])


def gtin_item_reference(gtin14: str) -> str:
    """The GTIN without its indicator and check digit: equal across packaging levels of one product."""
    return gtin14[1:13]


def clean_gln(value: str) -> str:
    """Validate a GS1 Global Location Number (13 digits with a check digit)."""
    digits = _digits_only(value)
    if not digits.isdigit() or len(digits) != 13:
        raise ValidationError(f"GLN '{value}' must be 13 digits.", code="gln_format")
    if not ean.is_valid(digits):
        raise ValidationError(
            f"GLN '{value}' has a wrong check digit: expected {ean.calc_check_digit(digits[:-1])}.",
            code="gln_check_digit",
        )
    return digits


def clean_duns(value: str) -> str:
    """D-U-N-S number: 9 digits (often written 12-345-6789). DUNS carries no check digit."""
    digits = _digits_only(value)
    if not digits.isdigit() or len(digits) != 9:
        raise ValidationError(f"DUNS '{value}' must be 9 digits.", code="duns_format")
    return digits


_UEI = re.compile(r"^[A-HJ-NP-Z1-9][A-HJ-NP-Z0-9]{11}$")


def clean_uei(value: str) -> str:
    """SAM.gov Unique Entity ID: 12 characters, letters and digits, no O or I, not starting with 0."""
    cleaned = str(value).strip().upper()
    if not _UEI.match(cleaned):
        raise ValidationError(
            f"UEI '{value}' must be 12 letters/digits without O or I and not starting with 0.", code="uei_format"
        )
    return cleaned


def clean_ein(value: str) -> str:
    """US Employer Identification Number, stored as NN-NNNNNNN; the two-digit prefix must be a valid campus."""
    try:
        return ein.format(ein.validate(value))
    except InvalidComponent as exc:
        raise ValidationError(f"EIN '{value}' has a prefix that the IRS does not issue.", code="ein_prefix") from exc
    except StdnumError as exc:
        raise ValidationError(f"EIN '{value}' must be 9 digits (NN-NNNNNNN).", code="ein_format") from exc


def clean_vat(value: str) -> str:
    """A VAT number with its country prefix (EU, GB, CH, NO...), checked with the country's algorithm."""
    from stdnum import vatin

    compact = str(value).strip().upper().replace(" ", "")
    try:
        return vatin.validate(compact)
    except InvalidChecksum as exc:
        raise ValidationError(f"VAT number '{value}' has a wrong check digit.", code="vat_check_digit") from exc
    except (InvalidFormat, InvalidLength, InvalidComponent, StdnumError) as exc:
        raise ValidationError(
            f"VAT number '{value}' is not valid: start with the country code (e.g. DE123456788) — {exc}.",
            code="vat_format",
        ) from exc


def clean_iban(value: str) -> str:
    try:
        return iban.validate(value)
    except InvalidChecksum as exc:
        raise ValidationError("IBAN has a wrong check digit.", code="iban_check_digit") from exc
    except StdnumError as exc:
        raise ValidationError(f"IBAN is not valid: {exc}.", code="iban_format") from exc


def clean_aba_routing(value: str) -> str:
    """US ABA routing transit number: 9 digits with a weighted check digit."""
    try:
        return rtn.validate(value)
    except InvalidChecksum as exc:
        raise ValidationError(f"ABA routing number '{value}' has a wrong check digit.", code="aba_check_digit") from exc
    except StdnumError as exc:
        raise ValidationError(f"ABA routing number '{value}' must be 9 digits.", code="aba_format") from exc


def clean_bank_account_number(value: str) -> str:
    digits = _digits_only(value)
    if not digits.isalnum() or not 4 <= len(digits) <= 17:
        raise ValidationError("Bank account number must be 4 to 17 digits or letters.", code="account_format")
    return digits


_HIBCC_LIC = re.compile(r"^[A-Z][A-Z0-9]{3}$")


def clean_hibcc_lic(value: str) -> str:
    """HIBCC Labeler Identification Code: 4 characters, the first a letter."""
    cleaned = str(value).strip().upper()
    if not _HIBCC_LIC.match(cleaned):
        raise ValidationError(
            f"HIBCC labeler code '{value}' must be 4 characters, a letter then letters or digits.", code="hibcc_format"
        )
    return cleaned


# NDC: the FDA labels use three 10-digit layouts; HIPAA billing uses the 11-digit 5-4-2 layout.
_NDC_10_LAYOUTS = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}  # which segment gets the leading zero


def clean_ndc(value: str) -> str:
    """Accept a 10-digit NDC in 4-4-2, 5-3-2 or 5-4-1, or an 11-digit 5-4-2 NDC; return 11 digits.

    A 10-digit NDC without hyphens is refused: it could be any of the three layouts.
    """
    raw = str(value).strip()
    segments = raw.split("-")
    if len(segments) == 1:
        if raw.isdigit() and len(raw) == 11:
            return raw
        if raw.isdigit() and len(raw) == 10:
            raise ValidationError(
                f"NDC '{value}' has 10 digits without hyphens, which is ambiguous; "
                "write it as 4-4-2, 5-3-2 or 5-4-1, or give the 11-digit 5-4-2 form.",
                code="ndc_ambiguous",
            )
        raise ValidationError(
            f"NDC '{value}' must be 11 digits, or hyphenated as 4-4-2, 5-3-2, 5-4-1 or 5-4-2.", code="ndc_format"
        )
    if len(segments) != 3 or not all(s.isdigit() for s in segments):
        raise ValidationError(
            f"NDC '{value}' must have three numeric segments (labeler-product-package).", code="ndc_format"
        )
    layout = tuple(len(s) for s in segments)
    if layout == (5, 4, 2):
        return "".join(segments)
    if layout in _NDC_10_LAYOUTS:
        pad = _NDC_10_LAYOUTS[layout]
        segments[pad] = "0" + segments[pad]
        return "".join(segments)
    raise ValidationError(
        f"NDC '{value}' has segment lengths {'-'.join(map(str, layout))}; "
        "expected 4-4-2, 5-3-2 or 5-4-1 (10 digits) or 5-4-2 (11 digits).",
        code="ndc_segments",
    )


def format_ndc11(ndc11: str) -> str:
    """Display form 5-4-2 of a stored 11-digit NDC."""
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}" if ndc11 and len(ndc11) == 11 else ndc11


def clean_unspsc(value: str) -> str:
    """UNSPSC commodity code: 8 digits (segment, family, class, commodity); the segment is never 00."""
    digits = str(value).strip()
    if not digits.isdigit() or len(digits) != 8:
        raise ValidationError(f"UNSPSC code '{value}' must be 8 digits.", code="unspsc_format")
    if digits[:2] == "00":
        raise ValidationError(f"UNSPSC code '{value}' has segment 00, which does not exist.", code="unspsc_segment")
    return digits


_HIBCC_DI = re.compile(r"^\+[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}$")


def clean_udi_di(value: str) -> str:
    """A UDI device identifier (GUDID primary DI): a GS1 GTIN (check digit verified) or a HIBCC DI."""
    raw = str(value).strip().upper()
    if raw.startswith("+"):
        if not _HIBCC_DI.match(raw):
            raise ValidationError(f"HIBCC device identifier '{value}' is not well formed.", code="udi_format")
        return raw
    return clean_gtin(raw)


def clean_currency(value: str) -> str:
    """An ISO 4217 alphabetic currency code (USD, EUR...)."""
    import pycountry

    code = str(value).strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError(f"'{value}' is not an ISO 4217 currency code (e.g. USD, EUR).", code="currency")
    return code


def clean_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code."""
    import pycountry

    code = str(value).strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(f"'{value}' is not an ISO 3166 alpha-2 country code (e.g. US, DE).", code="country")
    return code
