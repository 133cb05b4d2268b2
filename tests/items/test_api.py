"""Items API: nested packaging, identifier filters in any notation, search, as_of, bounded queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from stdnum import ean

from items.models import ItemPackagingLevel
from items.services import item_create
from mdm.services.golden import golden_save, golden_save_child, golden_set_status
from tests.items.conftest import GUDID_BOX, GUDID_CASE, GUDID_EACH

URL = "/api/v1/items/"


def gtin(indicator: int, reference: int) -> str:
    body = f"{indicator}{reference:012d}"
    return body + ean.calc_check_digit(body)


@pytest.fixture
def trach_tube(steward, units):
    return item_create(
        data={
            "description": "Blom tracheostomy tube, basic, single-use",
            "manufacturer_name": "PULMODYNE INC",
            "manufacturer_part_number": "313-71-015",
            "item_type": "med_surg",
            "unspsc": "42271706",
            "sterile": True,
            "gudid_di": GUDID_EACH,
            "base_unit": "EA",
            "packaging": [
                {"unit": "EA", "quantity": 1, "gtin": GUDID_EACH},
                {"unit": "BX", "quantity": 10, "gtin": GUDID_BOX},
                {"unit": "CS", "quantity": 100, "gtin": GUDID_CASE},
            ],
        },
        actor=steward,
        reason="t",
    )


@pytest.fixture
def heparin(steward, units):
    return item_create(
        data={
            "description": "Heparin sodium injection 1,000 USP units/mL, 10 mL vial",
            "short_name": "Heparin 10mL",
            "manufacturer_name": "Hospira, Inc.",
            "manufacturer_part_number": "NDC 0409-2720-01",
            "item_type": "drug",
            "unspsc": "51161701",
            "prescription": True,
            "latex_free": True,
            "ndc": "0409-2720-01",
            "base_unit": "EA",
            "packaging": [{"unit": "EA", "quantity": 1}, {"unit": "CS", "quantity": 25}],
        },
        actor=steward,
        reason="t",
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
class TestRead:
    def test_detail(self, api, trach_tube):
        data = api.get(f"{URL}{trach_tube.pk}/").json()
        assert data["base_unit"] == "EA"
        assert data["packaging"] == [
            {"level": 0, "unit": "EA", "quantity": 1, "gtin": GUDID_EACH, "eaches_per_level": 1},
            {"level": 1, "unit": "BX", "quantity": 10, "gtin": GUDID_BOX, "eaches_per_level": 10},
            {"level": 2, "unit": "CS", "quantity": 100, "gtin": GUDID_CASE, "eaches_per_level": 1000},
        ]
        assert (data["sterile"], data["latex_free"], data["status"], data["version"]) == (True, None, "active", 1)

    def test_ndc_shown_as_stored_and_as_5_4_2(self, api, heparin):
        data = api.get(f"{URL}{heparin.pk}/").json()
        assert (data["ndc"], data["ndc_formatted"]) == ("00409272001", "00409-2720-01")
        assert [p["eaches_per_level"] for p in data["packaging"]] == [1, 25]

    def test_list(self, api, trach_tube, heparin):
        assert ids(api.get(URL)) == [trach_tube.pk, heparin.pk]

    def test_viewer_reads_outsider_and_anonymous_do_not(self, viewer, outsider, anon_api, trach_tube):
        client = APIClient()
        client.force_authenticate(viewer)
        assert client.get(URL).status_code == 200
        client.force_authenticate(outsider)
        assert client.get(URL).status_code == 403
        assert anon_api.get(URL).status_code in (401, 403)

    def test_read_only(self, api, trach_tube):
        assert api.post(URL, {"description": "x"}, format="json").status_code == 405
        assert api.delete(f"{URL}{trach_tube.pk}/").status_code in (403, 405)
        assert api.get(f"{URL}{trach_tube.pk}/").status_code == 200


@pytest.mark.django_db
class TestFilters:
    @pytest.mark.parametrize(
        "value", [GUDID_BOX, "1 0841470 10066 4", GUDID_CASE, GUDID_EACH, "0841470100667", "841470100667"]
    )
    def test_gtin_of_any_level_in_any_length(self, api, trach_tube, heparin, value):
        assert ids(api.get(URL, {"gtin": value})) == [trach_tube.pk]

    def test_unknown_gtin_finds_nothing_and_a_bad_one_is_400(self, api, trach_tube):
        assert ids(api.get(URL, {"gtin": gtin(3, 84147010066)})) == []
        response = api.get(URL, {"gtin": "10841470100665"})
        assert response.status_code == 400
        assert "expected 4" in response.json()["errors"]["gtin"][0]

    @pytest.mark.parametrize("value", ["0409-2720-01", "00409-2720-01", "00409272001"])
    def test_ndc_in_any_accepted_form(self, api, trach_tube, heparin, value):
        assert ids(api.get(URL, {"ndc": value})) == [heparin.pk]

    def test_ambiguous_ndc_is_400(self, api, heparin):
        response = api.get(URL, {"ndc": "0409272001"})
        assert response.status_code == 400
        assert "ambiguous" in response.json()["errors"]["ndc"][0]

    def test_unspsc_exact_segment_and_family(self, api, trach_tube, heparin):
        assert ids(api.get(URL, {"unspsc": "42271706"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"unspsc_segment": "51"})) == [heparin.pk]
        assert ids(api.get(URL, {"unspsc_family": "4227"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"unspsc_family": "5116"})) == [heparin.pk]
        response = api.get(URL, {"unspsc_segment": "5"})
        assert response.status_code == 400
        assert "first 2 digits" in response.json()["errors"]["unspsc_segment"][0]

    def test_other_filters(self, api, trach_tube, heparin):
        assert ids(api.get(URL, {"item_type": "drug"})) == [heparin.pk]
        assert ids(api.get(URL, {"manufacturer": "pulmo"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"sterile": "true"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"latex_free": "true"})) == [heparin.pk]
        assert ids(api.get(URL, {"prescription": "false"})) == []  # unknown is not "no"
        assert ids(api.get(URL, {"implantable": "true"})) == []
        assert ids(api.get(URL, {"gudid_di": "0841470100667"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"base_unit": "ea"})) == [trach_tube.pk, heparin.pk]

    def test_status_after_retiring(self, api, steward, trach_tube, heparin):
        golden_set_status(trach_tube, status="retired", actor=steward, reason="discontinued")
        assert ids(api.get(URL, {"status": "active"})) == [heparin.pk]
        retired = api.get(f"{URL}{trach_tube.pk}/").json()
        assert (retired["status"], len(retired["packaging"])) == ("retired", 3)

    def test_search(self, api, trach_tube, heparin):
        assert ids(api.get(URL, {"search": "tracheostomy"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"search": "313-71"})) == [trach_tube.pk]
        assert ids(api.get(URL, {"search": "hospira"})) == [heparin.pk]
        assert ids(api.get(URL, {"search": "Heparin 10mL"})) == [heparin.pk]


@pytest.mark.django_db
class TestAsOf:
    def test_earlier_description_and_packaging(self, api, steward, trach_tube):
        before = timezone.now()
        trach_tube.description = "Blom tracheostomy tube 313-71-015, cuffless"
        golden_save(trach_tube, actor=steward, reason="clearer description", expected_version=1)
        box = trach_tube.packaging_levels.get(level=1)
        box.quantity = 12
        golden_save_child(box, actor=steward, reason="supplier changed the box count")
        case = trach_tube.packaging_levels.get(level=2)
        case.quantity = 50
        golden_save_child(case, actor=steward, reason="supplier changed the case count")

        live = api.get(f"{URL}{trach_tube.pk}/").json()
        assert live["description"].endswith("cuffless")
        assert [p["eaches_per_level"] for p in live["packaging"]] == [1, 12, 600]

        then = api.get(f"{URL}{trach_tube.pk}/", {"as_of": before.isoformat()}).json()
        assert (then["description"], then["version"]) == ("Blom tracheostomy tube, basic, single-use", 1)
        assert [(p["unit"], p["quantity"], p["gtin"], p["eaches_per_level"]) for p in then["packaging"]] == [
            ("EA", 1, GUDID_EACH, 1),
            ("BX", 10, GUDID_BOX, 10),
            ("CS", 100, GUDID_CASE, 1000),
        ]
        listed = api.get(URL, {"as_of": before.isoformat(), "unspsc_segment": "42"}).json()["results"]
        assert [(r["description"], len(r["packaging"])) for r in listed] == [
            ("Blom tracheostomy tube, basic, single-use", 3)
        ]

    def test_level_added_later_is_absent(self, api, steward, units, heparin):
        before = timezone.now()
        golden_save_child(
            ItemPackagingLevel(item=heparin, level=2, unit=units["BX"], quantity=4), actor=steward, reason="pallet"
        )
        assert len(api.get(f"{URL}{heparin.pk}/").json()["packaging"]) == 3
        then = api.get(f"{URL}{heparin.pk}/", {"as_of": before.isoformat()}).json()
        assert [p["level"] for p in then["packaging"]] == [0, 1]

    def test_packaging_filter_is_refused_with_as_of(self, api, trach_tube):
        response = api.get(URL, {"as_of": timezone.now().isoformat(), "gtin": GUDID_BOX})
        assert response.status_code == 400
        assert "not available together with as_of" in response.json()["errors"]["gtin"][0]


def _make_items(steward, start, count):
    for n in range(start, start + count):
        item_create(
            data={
                "description": f"Catheter, IV, {n} gauge",
                "item_type": "med_surg",
                "base_unit": "EA",
                "packaging": [
                    {"unit": "EA", "quantity": 1, "gtin": gtin(0, 84147020000 + n)},
                    {"unit": "BX", "quantity": 50, "gtin": gtin(1, 84147020000 + n)},
                    {"unit": "CS", "quantity": 4, "gtin": gtin(2, 84147020000 + n)},
                ],
            },
            actor=steward,
            reason="t",
        )


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_items(api, steward, units, django_assert_max_num_queries):
    _make_items(steward, 0, 3)
    api.get(URL)  # the first request loads the user's permissions (2 queries, cached on the user after)
    with CaptureQueriesContext(connection) as few:
        assert len(api.get(URL).json()["results"]) == 3
    _make_items(steward, 3, 27)
    # count + items joined to their base unit + packaging levels joined to their units.
    with django_assert_max_num_queries(3) as many:
        results = api.get(URL).json()["results"]
    assert len(results) == 30
    assert len(many.captured_queries) == len(few.captured_queries)
    assert all(r["packaging"][2]["eaches_per_level"] == 200 for r in results)
