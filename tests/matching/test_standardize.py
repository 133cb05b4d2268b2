"""Standardization per kind: mojibake, legal suffixes, abbreviation traps, identifiers, sizes and codes."""

import pytest

from mdm.matching.abbreviations import AbbreviationTable
from mdm.matching.identifiers import gtin, gtin_item_reference, ndc, part_number, split_multi
from mdm.matching.names import address, org_name, person_name
from mdm.matching.standardize import date_value, numeric_value, text_features
from mdm.matching.text import fold


@pytest.fixture(scope="module")
def table():
    return AbbreviationTable.load()


def test_mojibake_is_repaired_and_trademarks_dropped():
    assert fold("ARROWÂ® Edge") == "arrow  edge"
    assert fold("Prote´ge´™ GPS™").split() == ["protege", "gps"]
    assert fold("Ré\xadsumé") == "resume"
    assert fold("ＡＢＣ－１２") == "abc-12"  # NFKC: full-width forms
    assert fold(None) == ""


@pytest.mark.parametrize(
    ("raw", "core"),
    [
        ("Medline Industries, Inc.", "medline ind"),
        ("MEDLINE IND LP", "medline ind"),
        ("The Medline Industries, Inc. - Site 2", "medline ind"),
        ("Smith & Nephew (Dallas)", "smith nephew"),
        ("SMITH AND NEPHEW INC", "smith nephew"),
        ("SKELETAL DYNAMICS L.L.C.", "skeletal dynamics"),
        ("Skeletal Dynamics LLC", "skeletal dynamics"),
        ("Acme GmbH", "acme"),
        ("Acme Holdings PLC", "acme hldg"),
        ("Becton, Dickinson and Company", "becton dickinson"),
        ("C. R. Bard, Inc.", "cr bard"),
        ("CR BARD INC", "cr bard"),
        ("Baxter Corporation", "baxter"),
        ("Baxter Corp.", "baxter"),
        ("Co", "co"),
    ],
)
def test_org_name_folds_legal_forms_and_sites(raw, core):
    assert org_name(raw) == core


def test_related_companies_keep_their_distinguishing_words():
    assert org_name("Bard Access Systems, Inc.") == "bard access sys"
    assert org_name("Bard Peripheral Vascular, Inc.") == "bard peripheral vascular"


def test_person_and_address():
    assert person_name("Dr. José  O'Neil") == "jose oneil"
    std, words, numbers = address("123 North Main Street, Suite 400")
    assert std == address("123 N. Main St Ste 400")[0] == "123 n main st ste 400"
    assert words == ["n", "main", "st", "ste"]
    assert numbers == ["123", "400"]


def test_abbreviations_expand_to_the_full_words(table):
    std, words, numbers, codes = text_features("GLV EXAM NITR PF", table)
    assert words == ("glove", "exam", "nitrile", "powder", "free")
    full = text_features("Nitrile Exam Glove, Powder-Free", table)[1]
    assert set(full) == set(words)


def test_ambiguous_abbreviation_keeps_every_reading(table):
    words = text_features("GLV NTRL LG", table)[1]
    assert {"nitrile", "natural", "large", "long", "length"} <= set(words)


def test_cs_is_cruciate_substituting_only_in_an_implant(table):
    implant = text_features("Tibial Insert CS 10mm", table)[1]
    assert "cruciate" in implant and "substituting" in implant
    pack = text_features("Exam glove CS 10BX/100EA", table)[1]
    assert "cruciate" not in pack and "case" not in pack


def test_st_is_never_expanded(table):
    words = text_features("TOMCAT,SCREW,ST,4.0X18", table)[1]
    assert "st" in words
    assert not {"sterile", "street", "set", "straight"} & set(words)


def test_pf_next_to_a_number_is_not_powder_free(table):
    assert "powder" not in text_features("PF 10 TRAY", table)[1]
    assert "powder" in text_features("GLOVE PF", table)[1]


def test_sizes_are_extracted_in_canonical_spelling(table):
    assert text_features("Screw 3.5X14", table)[2] == ("3.5", "14")
    assert text_features("Screw 4.0 x 18 mm", table)[2] == ("4", "18")
    assert text_features("Spacer 8mmx11mmx 30mm", table)[2] == ("8", "11", "30")
    assert text_features("Needle 20G 5 ML", table)[2] == ("20", "5")
    assert text_features("Suture 4-0", table)[2] == ("4-0",)


def test_codes_are_model_numbers_without_separators(table):
    assert text_features("Sony BRAVIA KDL-46V5100 46in LCD TV", table)[3] == ("kdl46v5100",)
    assert text_features("Sony Bravia KDL46V5100", table)[3] == ("kdl46v5100",)
    assert text_features("Insert 1107-0-3258", table)[3] == ("110703258",)
    assert text_features("Screw 3.5X14", table)[3] == ()


def test_steward_file_adds_and_overrides_rules(tmp_path):
    extra = tmp_path / "mine.csv"
    extra.write_text("abbreviation,expansion,context\nbx,box,not_number\nglv,glove liner,any\n", encoding="utf-8")
    table = AbbreviationTable.load((str(extra),))
    assert text_features("GLV BX", table)[1] == ("glove", "liner", "box")


def test_bad_abbreviation_file_names_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("abbreviation,expansion,context\nzz,zed,sometimes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown context 'sometimes'"):
        AbbreviationTable.load((str(bad),))


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        ("00844588018923", "00844588018923", True),
        ("844588018923", "00844588018923", True),  # UPC-A (GTIN-12)
        ("0844588018923", "00844588018923", True),  # EAN-13
        ("(01)00844588018923", "00844588018923", True),  # GS1 element string
        ("0084458801892-3", "00844588018923", True),
        ("00844588018924", "00844588018924", False),  # wrong check digit: kept, marked invalid
        ("12345", "12345", False),
    ],
)
def test_gtin_forms(raw, value, valid):
    assert gtin(raw) == (value, valid)


def test_gtin_item_reference_ignores_packaging_level():
    assert gtin_item_reference("10080196722637") == gtin_item_reference("00080196722630")


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        ("0002-1433-80", "00002143380", True),  # 4-4-2
        ("50090-347-01", "50090034701", True),  # 5-3-2
        ("12345-6789-1", "12345678901", True),  # 5-4-1
        ("12345-6789-01", "12345678901", True),  # 5-4-2
        ("12345678901", "12345678901", True),
        ("0002143380", "0002143380", False),  # unhyphenated 10 digits: ambiguous, kept as written
    ],
)
def test_ndc_forms(raw, value, valid):
    assert ndc(raw) == (value, valid)


def test_part_numbers_lose_case_and_separators():
    assert part_number("CS-15322-I") == ("cs15322i", True)
    assert part_number("cs 15322 i") == ("cs15322i", True)


def test_multi_values():
    assert split_multi("a| b ;c") == ["a", "b", "c"]
    assert split_multi(["x", None, " y "]) == ["x", "y"]
    assert split_multi(None) == []


def test_dates_and_numbers():
    assert date_value("1956-04-09") == date_value("19560409") == date_value("04/09/1956") == "19560409"
    assert date_value("25/12/2001") == "20011225"
    assert numeric_value("$1,299.50") == 1299.5
    assert numeric_value("n/a") != numeric_value("n/a")  # NaN
