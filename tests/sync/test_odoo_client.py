"""The Odoo client against the Odoo test server over real HTTP: three transports, version detection, error
classification on the exception's name, paging for inbound pulls."""

import time

import pytest

from sync.odoo.client import OdooClient, OdooError, OdooUnavailable, major_of
from sync.odoo.errors import TRANSIENT_NAMES, from_xmlrpc_fault
from sync.odoo.transports import json2_body

TRANSPORT_CASES = [(16, "xmlrpc"), (16, "jsonrpc"), (17, "jsonrpc"), (18, "xmlrpc"), (19, "jsonrpc"), (19, "json2")]


def connect(srv, protocol="auto", **kwargs):
    return OdooClient(srv.url, srv.db, srv.login, srv.api_key, protocol=protocol, **kwargs)


def m2o(value):
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value or None


# -- pure parts --------------------------------------------------------------------------------------------------


def test_json2_arguments_are_named_per_method():
    assert json2_body("write", [[4, 5], {"name": "x"}], {"context": {"lang": "en_US"}}) == {
        "ids": [4, 5],
        "vals": {"name": "x"},
        "context": {"lang": "en_US"},
    }
    assert json2_body("create", [[{"name": "x"}]], {}) == {"vals_list": [{"name": "x"}]}
    assert json2_body("read", [[7], ["name"]], {}) == {"ids": [7], "fields": ["name"]}
    assert json2_body("search_read", [[["id", ">", 1]], ["name"], 0, 5, "id"], {}) == {
        "domain": [["id", ">", 1]],
        "fields": ["name"],
        "offset": 0,
        "limit": 5,
        "order": "id",
    }
    assert json2_body("load", [["id", "name"], [["a.b", "x"]]], {}) == {
        "fields": ["id", "name"],
        "data": [["a.b", "x"]],
    }
    assert json2_body("action_archive", [[3]], {}) == {"ids": [3]}
    assert json2_body("check_object_reference", ["__mdm__", "item_4"], {}) == {"module": "__mdm__", "xml_id": "item_4"}
    with pytest.raises(ValueError, match="named arguments"):
        json2_body("button_confirm_everything", [[1], "surprise"], {})


def test_xmlrpc_faults_are_classified_by_the_exception_in_the_traceback():
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/odoo/odoo/service/model.py", line 133, in retrying\n'
        "    result = func()\n"
        "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update\n"
    )
    error = from_xmlrpc_fault(1, traceback)
    assert (error.name, error.transient) == ("psycopg2.errors.SerializationFailure", True)
    assert error.message == "could not serialize access due to concurrent update"
    missing = from_xmlrpc_fault(1, 'Traceback...\n  File "x", line 1\nValueError: External ID not found: __mdm__.x')
    assert (missing.name, missing.transient) == ("builtins.ValueError", False)
    assert from_xmlrpc_fault(2, "The operation cannot be completed").transient is False
    assert from_xmlrpc_fault(3, "Access Denied").name == "odoo.exceptions.AccessDenied"
    assert from_xmlrpc_fault(4, "not allowed").name == "odoo.exceptions.AccessError"


def test_major_version_from_common_version():
    assert major_of({"server_version": "16.0", "server_version_info": [16, 0, 0, "final", 0, ""]}) == 16
    assert major_of({"server_version": "saas~18.3+e", "server_version_info": ["saas~18", 3]}) == 18


# -- against the server ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_auto_detects_the_version_and_picks_json2_from_19(odoo_server):
    client = connect(odoo_server)
    assert client.major == odoo_server.version
    assert client.server_version.startswith(f"{odoo_server.version}.")
    assert client.effective_protocol == ("json2" if odoo_server.version >= 19 else "jsonrpc")
    assert isinstance(client.uid, int) and client.uid > 0


@pytest.mark.parametrize(("odoo_server", "protocol"), TRANSPORT_CASES, indirect=["odoo_server"])
def test_each_transport_creates_reads_writes_loads_and_archives(odoo_server, protocol):
    srv = odoo_server
    client = connect(srv, protocol)
    assert client.effective_protocol == protocol and client.major == srv.version
    partner = client.create("res.partner", {"name": "Baxter Healthcare", "is_company": True})
    assert isinstance(partner, int)
    pair = client.create("res.partner", [{"name": "Hospira"}, {"name": "Hospira Worldwide"}])
    assert len(pair) == 2 and all(isinstance(i, int) for i in pair)
    assert client.write("res.partner", [partner], {"city": "Deerfield"}) is True
    (row,) = client.read("res.partner", [partner], ["name", "city"])
    assert (row["name"], row["city"]) == ("Baxter Healthcare", "Deerfield")
    found = client.search_read("res.partner", [["name", "like", "Hospira"]], ["name"], order="id asc", limit=1)
    assert [r["id"] for r in found] == [pair[0]]

    columns = ["id", "name", "is_company", "country_id/id"]
    first = client.load("res.partner", columns, [["__mdm__.supplier_1", "Medline", "1", "base.us"]])
    assert first["ids"] and not [m for m in first["messages"] if m.get("type") == "error"], first
    again = client.load("res.partner", columns, [["__mdm__.supplier_1", "Medline Industries", "1", "base.us"]])
    assert again["ids"] == first["ids"]  # same external id: the same record, updated
    assert srv.by_xmlid("__mdm__.supplier_1")["name"] == "Medline Industries"
    assert client.check_object_reference("__mdm__", "supplier_1") == ("res.partner", first["ids"][0])
    assert client.check_object_reference("__mdm__", "supplier_404") is None
    assert client.xmlid_to_id("base.us") == m2o(srv.by_xmlid("__mdm__.supplier_1")["country_id"])

    client.action_archive("res.partner", [partner])
    assert client.search_read("res.partner", [["id", "=", partner]], ["id"]) == []  # active_test by default
    back = client.read_back("res.partner", [partner, 987654], ["name", "active"])
    assert [(r["id"], r["active"]) for r in back] == [(partner, False)]  # archived included, missing absent
    used = {call["transport"] for call in srv.calls if call.get("model")}
    assert used == {protocol}


@pytest.mark.parametrize(
    ("odoo_server", "protocol"), [(16, "jsonrpc"), (17, "xmlrpc"), (19, "json2")], indirect=["odoo_server"]
)
def test_a_validation_error_is_permanent(odoo_server, protocol):
    client = connect(odoo_server, protocol)
    before = odoo_server.count("product.template")
    with pytest.raises(OdooError) as caught:
        client.create("product.template", {"default_code": "NO-NAME"})  # name is required
    error = caught.value
    assert not error.transient and not isinstance(error, OdooUnavailable)
    if protocol == "xmlrpc":
        assert error.code == 2  # the UserError family: XML-RPC can't say which one
    else:
        assert error.name == "odoo.exceptions.ValidationError"
    if protocol == "json2":
        assert error.http_status == 422
    assert odoo_server.count("product.template") == before


@pytest.mark.parametrize(
    ("odoo_server", "protocol"),
    [(16, "jsonrpc"), (16, "xmlrpc"), (17, "jsonrpc"), (18, "jsonrpc"), (19, "json2"), (19, "jsonrpc")],
    indirect=["odoo_server"],
)
def test_a_serialization_failure_is_transient_and_the_next_try_works(odoo_server, protocol):
    srv = odoo_server
    client = connect(srv, protocol)
    partner = client.create("res.partner", {"name": "Owens & Minor"})
    srv.inject("serialization", model="res.partner", method="write")
    with pytest.raises(OdooError) as caught:
        client.write("res.partner", [partner], {"city": "Mechanicsville"})
    error = caught.value
    assert error.transient and not isinstance(error, OdooUnavailable)
    assert error.name in TRANSIENT_NAMES, error.name
    assert srv.records("res.partner", [("id", "=", partner)])[0]["city"] in (False, None, "")  # nothing written
    assert client.write("res.partner", [partner], {"city": "Mechanicsville"}) is True


@pytest.mark.parametrize(("odoo_server", "protocol"), [(17, "jsonrpc"), (19, "json2")], indirect=["odoo_server"])
def test_a_lock_error_is_transient(odoo_server, protocol):
    client = connect(odoo_server, protocol)
    partner = client.create("res.partner", {"name": "Cardinal Health"})
    odoo_server.inject("lock", model="res.partner", method="write")
    with pytest.raises(OdooError) as caught:
        client.write("res.partner", [partner], {"city": "Dublin"})
    assert caught.value.transient
    if protocol == "json2":
        assert (caught.value.name, caught.value.http_status) == ("odoo.exceptions.LockError", 409)


@pytest.mark.parametrize(("odoo_server", "protocol"), TRANSPORT_CASES, indirect=["odoo_server"])
def test_down_and_http_500_are_unavailable_and_transient(odoo_server, protocol):
    srv = odoo_server
    client = connect(srv, protocol)
    client.search_read("res.partner", [], ["id"], limit=1)
    srv.set_down(True)
    with pytest.raises(OdooUnavailable) as down:
        client.search_read("res.partner", [], ["id"], limit=1)
    assert down.value.transient and down.value.http_status is None
    srv.set_down(False)
    srv.inject("http_500")
    with pytest.raises(OdooUnavailable) as failed:
        client.search_read("res.partner", [], ["id"], limit=1)
    assert failed.value.transient and failed.value.http_status == 500
    assert client.search_read("res.partner", [], ["id"], limit=1)
    assert srv.api_key not in str(down.value) + str(failed.value)


@pytest.mark.parametrize(("odoo_server", "protocol"), TRANSPORT_CASES, indirect=["odoo_server"])
def test_a_wrong_api_key_is_access_denied_and_permanent(odoo_server, protocol):
    client = OdooClient(odoo_server.url, odoo_server.db, odoo_server.login, "not-the-key", protocol=protocol)
    with pytest.raises(OdooError) as caught:
        client.search_read("res.partner", [], ["id"], limit=1)
    assert caught.value.name == "odoo.exceptions.AccessDenied"
    assert not caught.value.transient
    assert "not-the-key" not in str(caught.value)


@pytest.mark.parametrize(
    ("odoo_server", "protocol"), [(16, "xmlrpc"), (18, "jsonrpc"), (19, "json2")], indirect=["odoo_server"]
)
def test_an_access_error_is_permanent(odoo_server, protocol):
    client = connect(odoo_server, protocol)
    odoo_server.inject("access", model="res.partner")
    with pytest.raises(OdooError) as caught:
        client.create("res.partner", {"name": "Not allowed"})
    assert (caught.value.name, caught.value.transient) == ("odoo.exceptions.AccessError", False)


def test_json2_is_not_there_before_19(odoo_server):
    client = connect(odoo_server, "json2")  # default server: Odoo 17
    with pytest.raises(OdooError) as caught:
        client.search_read("res.partner", [], ["id"], limit=1)
    assert caught.value.http_status == 404 and not caught.value.transient


def test_no_answer_in_time_is_unavailable(odoo_server):
    client = connect(odoo_server, timeout=0.3)
    client.version()
    odoo_server.inject("slow", delay=1.0, model="res.partner")
    started = time.monotonic()
    with pytest.raises(OdooUnavailable, match="within"):
        client.search_read("res.partner", [], ["id"], limit=1)
    assert time.monotonic() - started < 0.9
    time.sleep(0.8)  # let the server finish the slow call before it stops


def test_a_lost_response_is_unavailable_although_the_call_committed(odoo_server):
    client = connect(odoo_server)
    odoo_server.inject("drop_after_commit", model="res.partner", method="create")
    with pytest.raises(OdooUnavailable):
        client.create("res.partner", {"name": "Committed But Unanswered"})
    assert odoo_server.records("res.partner", [("name", "=", "Committed But Unanswered")])


@pytest.mark.parametrize("odoo_server", [16, 19], indirect=True)
def test_pull_pages_by_write_date_then_id_and_includes_archived(odoo_server):
    srv = odoo_server
    for n in range(5):
        srv.user_create("res.partner", {"name": f"Vendor {n}", "supplier_rank": 1})
    archived = srv.user_create("res.partner", {"name": "Archived vendor", "supplier_rank": 1})
    srv.user_write("res.partner", archived, {"active": False})
    everything = sorted(srv.records("res.partner"), key=lambda r: (r["write_date"], r["id"]))
    client = connect(srv)

    pages = list(client.pull("res.partner", page_size=2, fields=["name"]))
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    pulled = [r["id"] for page in pages for r in page]
    assert pulled == [r["id"] for r in everything] and archived in pulled

    # the watermark is the last record seen: records sharing its write_date but with a higher id still come
    mark = everything[2]
    rest = [r["id"] for page in client.pull("res.partner", mark["write_date"], mark["id"]) for r in page]
    assert rest == [r["id"] for r in everything[3:]]
    assert [len(p) for p in client.pull("res.partner", "", 0, limit=3, page_size=2)] == [2, 1]

    time.sleep(1.1)  # write_date has one-second resolution
    srv.user_write("res.partner", everything[0]["id"], {"city": "Waukegan"})
    last = everything[-1]
    changed = [r["id"] for page in client.pull("res.partner", last["write_date"], last["id"]) for r in page]
    assert changed == [everything[0]["id"]]
