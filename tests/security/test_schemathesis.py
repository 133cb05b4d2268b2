"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis, in process over WSGI).

For every operation in ``/api/schema/``: a bounded number of generated requests (derandomized: the same requests
on every run), sent through Django's WSGI handler into the test database's world of real records
(tests/security/conftest.py), valid requests and invalid ones (schemathesis' negative mode). Checks: never a 5xx;
a documented status code's body is shaped as the schema says; any other status is one of the API's errors with the
house error body (``{detail, code, errors}``, mdm/api/exceptions.py) -- the schema does not list 400/401/403/404 for
every operation, so schemathesis' status_code_conformance would only restate that. Then an anonymous pass: every
operation answers 401, never a 5xx. And the values fuzzers find sooner or later (ids beyond 64 bits, impossible
dates, UTC offsets PostgreSQL refuses, ``%`` in values quoted back in error messages) tried on every read.

Signed in as a superuser through a session cookie (with a CSRF cookie and header, as the browser sends them), so
that every operation is reachable and the permission layer lets the request through to the code being fuzzed.
"""

import json
import re
from urllib.parse import unquote

import pytest
import schemathesis
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 15
ANONYMOUS_EXAMPLES = 3
CSRF = "csrfsecretcsrfsecretcsrfsecret01"  # 32 characters: a valid unmasked CSRF secret


def _generated_schema() -> dict:
    """The document /api/schema/ serves (generated here, in process, so that collecting this module needs no server)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _raw_schema() -> dict:
    """The served schema minus its security schemes: the callers here bring their own credentials (a session
    cookie, or none at all), and schemathesis would otherwise invent an ``Authorization`` header."""
    raw = _generated_schema()
    raw.get("components", {}).pop("securitySchemes", None)
    for path in raw["paths"].values():
        for operation in path.values():
            operation.pop("security", None)
    return raw


# The house error shape (mdm/api/exceptions.py) for statuses an operation does not list in the schema.
HOUSE_ERRORS = {400, 401, 403, 404, 405, 406, 409, 413, 415, 429}


def house_error_contract(ctx, response, case):
    """A status the schema does not document must be one of the API's errors, with the house error body."""
    documented = set(case.operation.definition.raw.get("responses", {}))
    if str(response.status_code) in documented or "default" in documented:
        return None
    assert response.status_code in HOUSE_ERRORS, (
        f"{case.operation.label} answered {response.status_code}, which is neither documented nor an API error"
    )
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} without a JSON body") from None
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and isinstance(body.get("code"), str), (
        f"{case.operation.label} answered {response.status_code} without the house error shape "
        f"{{detail, code, errors}}: {body!r}"
    )
    if response.status_code == 400 and body["code"] != "parse_error":  # a body that is not JSON has no fields
        assert isinstance(body.get("errors"), dict), f"a 400 says which fields are wrong ('errors'): {body!r}"
    return None


SCHEMA = schemathesis.openapi.from_dict(_raw_schema())
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


def test_the_fuzzed_schema_is_the_served_one(client):
    served = client.get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert json.loads(served.content)["paths"] == _generated_schema()["paths"]


@pytest.fixture(scope="module")
def app():
    """Django's WSGI handler, without closing the test's database connection at the end of each request."""
    application = get_wsgi_application()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def superuser_cookies(world, django_db_blocker):
    with django_db_blocker.unblock():
        client = Client()
        client.force_login(world.users["superuser"])
        return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value, "csrftoken": CSRF}


# Which of the world's records an operation's {id} names (longest prefix first), so that reads and actions on one
# record reach a real one and not only 404s.
RECORDS = {
    "/api/v1/audit/": "audit_event",
    "/api/v1/change-requests/": "change",
    "/api/v1/contracts/": "contract",
    "/api/v1/decisions/": "decision_log",
    "/api/v1/ingest-batches/": "batch",
    "/api/v1/items/": "item",
    "/api/v1/match/candidates/": "candidate",
    "/api/v1/match/decisions/": "decision",
    "/api/v1/match/runs/": "run",
    "/api/v1/prices/": "price",
    "/api/v1/quarantine/": "quarantined",
    "/api/v1/source-records/": "source_record",
    "/api/v1/source-systems/": "system",
    "/api/v1/suppliers/": "supplier",
    "/api/v1/sync/deliveries/": "delivery",
    "/api/v1/sync/events/": "event",
    "/api/v1/sync/keymap/": "keymap",
    "/api/v1/sync/targets/": "target",
    "/api/v1/units/": "unit",
}


def _real_path_parameters(operation, world) -> dict | None:
    if "{entity_type}" in operation.path:
        return {"entity_type": "supplier", "object_id": world.supplier.pk}
    if "{id}" not in operation.path:
        return None
    prefix = max((p for p in RECORDS if operation.path.startswith(p)), key=len, default=None)
    return {"id": getattr(world, RECORDS[prefix]).pk} if prefix else None


def _strategy(operation, world):
    """Valid requests and invalid ones (wrong types, out-of-range values, malformed bodies): both, never a 5xx.
    An operation on one record also gets requests naming a record of the world."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    real = _real_path_parameters(operation, world) if world is not None else None
    if real:
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes]
    return st.one_of(strategies)


def _fuzz(operation, app, *, cookies, headers, checks, max_examples=MAX_EXAMPLES, world=None):
    @given(case=_strategy(operation, world))
    @hypothesis_settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        cache.clear()  # rate limits are not what is tested here
        with transaction.atomic():  # each request in a savepoint: a database error must not poison the next one
            response = case.call(app=app, cookies=cookies, headers=headers)
            case.validate_response(response, checks=checks)
            transaction.set_rollback(True)

    run()


def _names_no_api_route(case) -> bool:
    """A path that is no route of the API (a negated ``{entity_type}``), or one naming an output format that does
    not exist (``?format=x``, or the router's format suffix ``/suppliers/1.x/``): a 404 before authentication,
    the same whatever the id, so it tells nobody anything."""
    try:
        match = resolve(unquote(case.formatted_path))
    except Resolver404:
        return True
    return "format" in match.kwargs or "format" in (case.query or {})


def anonymous_is_refused(ctx, response, case):
    """Without credentials every operation answers 401 (with the header that says how to authenticate)."""
    if response.status_code == 404 and _names_no_api_route(case):
        return
    assert response.status_code == 401, f"{case.operation.label} answered {response.status_code} to an anonymous caller"
    assert response.headers.get("www-authenticate"), f"{case.operation.label}: a 401 names the scheme to use"


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_anonymous_callers_get_401(label, app, world):
    _fuzz(
        OPERATIONS[label],
        app,
        cookies={},
        headers={},
        checks=[not_a_server_error, anonymous_is_refused],
        max_examples=ANONYMOUS_EXAMPLES,
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms(label, app, superuser_cookies, world):
    _fuzz(
        OPERATIONS[label],
        app,
        cookies=superuser_cookies,
        headers={"X-CSRFToken": CSRF, "Referer": "http://localhost/"},
        world=world,
        checks=[not_a_server_error, response_schema_conformance, house_error_contract],
    )


# --- the values fuzzers find sooner or later, tried on every read --------------------------------------------------

HUGE = "9" * 30  # beyond any database integer (PostgreSQL bigint overflows: must be a 404, not a 500)
LIST_QUERIES = [
    "page=999999",
    "page=0",
    "page=abc",
    "page_size=0",
    "page_size=-5",
    f"page_size={HUGE}",
    "ordering=no_such_field",
    "ordering=-",
    "ordering=,,",
    "as_of=garbage",
    "as_of=0001-01-01",
    "as_of=9999-12-31T23:59:59Z",
    "as_of=2026-02-30",
    "as_of=2026-01-01T00:00:00-18:45",  # Python takes offsets up to ±23:59, PostgreSQL up to ±15:59
    "as_of=0001-01-01T00:00:00%2B05:00",  # no UTC equivalent
    # the date-time filters of the lists that have them (the others ignore unknown parameters)
    "since=5139-07-19T21:41:20-18:45&until=0001-01-01T00:00:00%2B05:00",
    "submitted_after=0220-01-28T02:28:55%2B19:07&created_after=0220-01-28T02:28:55%2B19:07",
    "received_after=0031-03-21T13:48:15-16:33",
    "search=%00",
    f"id={HUGE}",
]
DETAIL_IDS = [HUGE, "-1", "0", "abc", "1.5", "%00"]
DETAIL_QUERIES = ["", "as_of=2000-01-01", "as_of=garbage", "as_of=2026-01-01T00:00:00-18:45"]
GET_OPERATIONS = sorted(label for label in OPERATIONS if label.startswith("GET "))


def _assert_handled(response, request_line: str) -> None:
    assert response.status_code < 500, f"{request_line} -> {response.status_code}: {response.content[:300]!r}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str) and body.get("code"), f"{request_line}: {body!r}"


@pytest.mark.parametrize("label", GET_OPERATIONS)
def test_reads_survive_hostile_query_values(label, world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.users["superuser"])
    operation = OPERATIONS[label]
    path = operation.path
    params = re.findall(r"{(\w+)}", path)
    if params:  # one record: hostile ids ({entity_type} stays "supplier")
        for raw_id in DETAIL_IDS:
            url = path
            for name in params:
                url = url.replace(f"{{{name}}}", "supplier" if name == "entity_type" else raw_id)
            for query in DETAIL_QUERIES:
                cache.clear()
                full = f"{url}?{query}" if query else url
                _assert_handled(client.get(full), f"GET {full}")
        return
    numeric = [
        parameter["name"]
        for parameter in operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") in ("integer", "number")
    ]
    text = [
        parameter["name"]
        for parameter in operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") == "string"
    ]
    queries = LIST_QUERIES + [
        f"{name}={value}" for name in numeric for value in (HUGE, f"-{HUGE}", "1e400", "-1.45e%2B40", "NaN")
    ]
    # a value quoted in an error message must not be taken for a format string ("GTIN '%(x)s' ...")
    queries += [f"{name}=%25(x)s%25%26" for name in text]
    for query in queries:
        cache.clear()
        _assert_handled(client.get(f"{path}?{query}"), f"GET {path}?{query}")
