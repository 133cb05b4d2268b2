"""Identifier validators: canonical forms and messages that say what is wrong."""

import pytest
from django.core.exceptions import ValidationError

from mdm import identifiers as ids


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00841470100667", "00841470100667"),
        ("0841470100667", "00841470100667"),  # GTIN-13
        ("841470100667", "00841470100667"),  # GTIN-12 (UPC-A)
        ("20841470100661", "20841470100661"),  # GTIN-14 package level
        ("96385074", "00000096385074"),  # GTIN-8
        (" 0 0841470-100667 ", "00841470100667"),
    ],
)
def test_gtin_normalized_to_14_digits(raw, expected):
    assert ids.clean_gtin(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("00841470100668", "wrong check digit: expected 7, got 8"),
        ("0084147010066", "wrong check digit: expected 1, got 6"),  # a GTIN-14 with its last digit cut off
        ("12345", "has 5 digits"),
        ("ABCDEFGHIJKLM", "digits only"),
    ],
)
def test_gtin_errors(raw, message):
    with pytest.raises(ValidationError) as exc:
        ids.clean_gtin(raw)
    assert message in exc.value.messages[0]


def test_gtin_indicator_and_item_reference():
    assert ids.gtin_indicator("20841470100661") == 2
    assert ids.gtin_item_reference("20841470100661") == ids.gtin_item_reference("10841470100664")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0002-1433-80", "00002143380"),  # 4-4-2
        ("50242-040-62", "50242004062"),  # 5-3-2
        ("60505-2519-1", "60505251901"),  # 5-4-1
        ("00002-1433-80", "00002143380"),  # 5-4-2
        ("00002143380", "00002143380"),  # 11 digits
    ],
)
def test_ndc_to_11_digits(raw, expected):
    assert ids.clean_ndc(raw) == expected
    assert ids.format_ndc11(expected).count("-") == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0002143380", "ambiguous"),
        ("002-14338-0", "segment lengths 3-5-1"),
        ("12-34", "three numeric segments"),
        ("ABCDE-1234-12", "three numeric segments"),
        ("123", "must be 11 digits"),
    ],
)
def test_ndc_errors(raw, message):
    with pytest.raises(ValidationError, match=message):
        ids.clean_ndc(raw)


def test_gln():
    assert ids.clean_gln("0614141000036") == "0614141000036"
    with pytest.raises(ValidationError, match="wrong check digit: expected 6"):
        ids.clean_gln("0614141000037")


def test_ein_vat_iban_aba():
    assert ids.clean_ein("123456789") == "12-3456789"
    with pytest.raises(ValidationError, match="prefix that the IRS does not issue"):
        ids.clean_ein("07-1234567")
    assert ids.clean_vat("de 136 695 976") == "DE136695976"
    with pytest.raises(ValidationError, match="VAT number"):
        ids.clean_vat("DE136695977")
    assert ids.clean_iban("GB82 WEST 1234 5698 7654 32") == "GB82WEST12345698765432"
    with pytest.raises(ValidationError, match="IBAN has a wrong check digit"):
        ids.clean_iban("GB82WEST12345698765433")
    assert ids.clean_aba_routing("011000015") == "011000015"
    with pytest.raises(ValidationError, match="wrong check digit"):
        ids.clean_aba_routing("011000016")


def test_duns_uei_hibcc_unspsc_currency_country():
    assert ids.clean_duns("15-048-3782") == "150483782"
    with pytest.raises(ValidationError, match="9 digits"):
        ids.clean_duns("1234")
    assert ids.clean_uei("j7m9hpttgm93") == "J7M9HPTTGM93"
    with pytest.raises(ValidationError, match="without O or I"):
        ids.clean_uei("O7M9HPTTGM93")
    assert ids.clean_hibcc_lic("h123") == "H123"
    with pytest.raises(ValidationError, match="a letter then"):
        ids.clean_hibcc_lic("1ABC")
    assert ids.clean_unspsc("42132203") == "42132203"
    with pytest.raises(ValidationError, match="8 digits"):
        ids.clean_unspsc("421322")
    with pytest.raises(ValidationError, match="segment 00"):
        ids.clean_unspsc("00132203")
    assert ids.clean_currency("usd") == "USD"
    with pytest.raises(ValidationError, match="ISO 4217"):
        ids.clean_currency("XYZ")
    assert ids.clean_country("us") == "US"


def test_udi_di_accepts_gs1_and_hibcc():
    assert ids.clean_udi_di("00841470100667") == "00841470100667"
    assert ids.clean_udi_di("+H123ABC1230") == "+H123ABC1230"
    with pytest.raises(ValidationError):
        ids.clean_udi_di("00841470100668")
