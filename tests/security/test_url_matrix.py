"""The authorization matrix: every URL of the project x every caller, one declared expectation per cell.

The test walks the URL resolver (the steward UI, operations pages, the API router, auth pages, admin), so a new
endpoint without an entry in ``MATRIX`` fails ("new endpoint ... has no entry in the authorization matrix"), and an
entry whose URL is gone fails too. Each cell is one parametrized test named ``<url key>-<caller>``.

Outcomes (one letter per caller, in ``CALLERS`` order):
  A  allowed: 2xx, or a 3xx that is not to a login page; for a POST with an empty body also 400 (refused on
     validation, which proves the permission check passed) or 200 with the form re-rendered with errors
  L  login: pages redirect to /accounts/login/ (admin: /admin/login/), the API answers 401
  D  denied: 403
  N  not found: 404 (a caller that must not learn that the object exists)
  M  405: the method is not offered to this caller (the login and permission checks came first)
  B  400 on a GET: a query parameter naming a record the caller may not see, refused as an unknown one
  .  not checked (the endpoint does not take this method)

URL kwargs come from a small world of real records (tests/security/conftest.py). ``entity_type`` is "supplier".
"""

import re
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tests.security.conftest import CALLERS

pytestmark = pytest.mark.django_db

ADMIN_PREFIX = "admin/"
ADMIN_LOGIN = "/admin/login/"

# --- walking the resolver ---------------------------------------------------------------------------------------

# Format-suffix variants (``.json``) of a route are folded into the base route: same view, same permissions.
_FORMAT_SUFFIX = re.compile(r"(\\\.\(\?P<format>[^)]*\)/\?\$|<drf_format_suffix:format>)$")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def normalize(route: str) -> str:
    """``api/v1/^suppliers/(?P<pk>[^/.]+)/$`` -> ``api/v1/suppliers/<pk>/``; ``<int:pk>`` -> ``<pk>``."""
    route = _REGEX_GROUP.sub(r"<\1>", route)
    route = _CONVERTER.sub(r"<\1>", route)
    return route.replace("^", "").replace("$", "").replace("\\.", ".")


@dataclass
class Url:
    route: str  # normalized
    name: str | None
    has_format_suffix: bool = False

    @property
    def key(self) -> str:
        return self.name or self.route

    @property
    def admin(self) -> bool:
        return self.route.startswith(ADMIN_PREFIX)

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(\w+)>", self.route)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str | None = None):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if (pattern.name and namespace) else pattern.name
            yield prefix + str(pattern.pattern), name


def discover() -> list[Url]:
    """Every URL pattern of the project, format-suffix variants folded into their base route."""
    found: dict[tuple[str, str | None], Url] = {}
    for raw, name in _walk(get_resolver()):
        suffixed = bool(_FORMAT_SUFFIX.search(raw))
        base = normalize(_FORMAT_SUFFIX.sub("", raw) if suffixed else raw)
        if suffixed and not base.endswith("/"):
            base += "/"  # "suppliers\.(?P<format>...)" is the variant of "suppliers/"
        url = found.setdefault((base, name), Url(route=base, name=name))
        url.has_format_suffix |= suffixed
    return list(found.values())


# --- calling ----------------------------------------------------------------------------------------------------


def classify(response, method: str) -> str:
    """The outcome letter of a response (see the module docstring); ``?<status>`` for anything else."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        target = urlparse(response.get("Location", "")).path
        return "L" if target.startswith((settings.LOGIN_URL, ADMIN_LOGIN)) else "A"
    if 200 <= status < 300:
        return "A"
    if method == "POST" and status in (400, 409):
        # refused on the body or the object's state: the login and permission checks have passed
        return "A"
    return {400: "B", 401: "L", 403: "D", 404: "N", 405: "M"}.get(status, f"?{status}")


WORDS = {
    "A": "allowed (2xx/3xx, or 400/409 on an empty POST)",
    "L": "a login answer (302 to the login page, 401 from the API)",
    "D": "403",
    "N": "404",
    "M": "405",
    "B": "400",
}


# --- the matrix -------------------------------------------------------------------------------------------------

# Columns, in this order (tests/security/conftest.py builds one user per caller). "limited" is a viewer with an
# access limit to items of UNSPSC segment 53: the world's item (segment 42) and its price are not there for them.
COLUMNS = "anonymous outsider viewer steward approver integration operations auditor superuser limited"
assert COLUMNS.split() == list(CALLERS), "keep COLUMNS in step with tests/security/conftest.py CALLERS"


@dataclass(frozen=True)
class Rule:
    get: str
    post: str = ". . . . . . . . . ."
    obj: str | None = None  # the world's attribute that fills <pk>
    query: str = ""  # added to GET (required query parameters)
    login: int = 0  # the status L stands for; 0: 401 under api/, else 302 (metrics: 401, it takes a bearer token)

    def cells(self, method: str) -> list[str]:
        row = (self.get if method == "GET" else self.post).split()
        assert len(row) == len(CALLERS), f"a row needs {len(CALLERS)} cells ({COLUMNS})"
        return row


# Short names for rows many endpoints share.
ALL = "A A A A A A A A A A"
SIGNED_IN = "L A A A A A A A A A"
# Pages: the UI's own 403 page for a missing permission; a POST-only page answers a GET with 405 after login.
POST_ONLY_PAGE = "L M M M M M M M M M"
MDM_READ = "L D A A A A D A A A"  # mdm.view_* (source records, matching, change requests): not operations
GOLDEN_READ = "L D A A A A A A A A"  # domain view perms: every role
SYNC_READ = "L D D A A D A A A D"  # sync.view_delivery & co: stewards, approvers, operations, auditors
GOLDEN_WRITE_PAGE = "L D D A A D D D A D"  # add/change on the domain model: stewards and approvers
# API: the permission check (POST needs add_<model>) comes before the method check, so a read-only endpoint answers
# a POST with 403, and with 405 only to those holding the add permission (the superuser; for golden records also
# stewards and approvers, who add them through change requests).
API_READ_ONLY_POST = "L D D D D D D D M D"
API_GOLDEN_READ_ONLY_POST = "L D D M M D D D M D"
API_OPS_ACTION = "L D D D D D A D A D"  # replay, replay-dead, replay-since, check: operations only
API_OPS_ACTION_GET = "L D D M M D M M M D"

# fmt: off
MATRIX: dict[str, Rule] = {
    # --- site ---------------------------------------------------------------------------------------------------
    "home":                     Rule(get=SIGNED_IN),
    "healthz":                  Rule(get=ALL),
    "readyz":                   Rule(get=ALL, post="M M M M M M M M M M"),
    # Prometheus: a bearer token (not tested here) or a signed-in user with sync.view_delivery; MDM_METRICS_PUBLIC
    # is off for this test, as in production.
    "metrics":                  Rule(get="L D D A A D A A A D", post="M M M M M M M M M M", login=401),
    "api-root":                 Rule(get="L A A A A A A A A A", post="L M M M M M M M M M"),
    # The schema is the same for everybody (and takes a second to generate): checked for two callers.
    "api-schema":               Rule(get="A . . . . . . . A .", post="M . . . . . . . M ."),
    "api-docs":                 Rule(get=ALL, post="M M M M M M M M M M"),
    # --- accounts (django.contrib.auth) -------------------------------------------------------------------------
    "login":                    Rule(get=ALL, post=ALL),  # an empty form re-renders with errors
    "logout":                   Rule(get="M M M M M M M M M M", post="L L L L L L L L L L"),  # lands on login
    "password_change":          Rule(get=SIGNED_IN, post=SIGNED_IN),
    "password_change_done":     Rule(get=SIGNED_IN),
    "password_reset":           Rule(get=ALL, post=ALL),
    "password_reset_done":      Rule(get=ALL, post="M M M M M M M M M M"),
    "password_reset_confirm":   Rule(get=ALL, post=ALL),  # an unknown token: the "invalid link" page
    "password_reset_complete":  Rule(get=ALL, post="M M M M M M M M M M"),
    # --- steward UI: records (entity_type=supplier) -------------------------------------------------------------
    "search":                   Rule(get="L D A A A A A A A A"),
    "record-detail":            Rule(get="L D A A A A A A A A", obj="supplier"),
    "record-create":            Rule(get=GOLDEN_WRITE_PAGE, post=GOLDEN_WRITE_PAGE),
    "record-suggest":           Rule(get=POST_ONLY_PAGE, post=GOLDEN_WRITE_PAGE),
    "record-edit":              Rule(get=GOLDEN_WRITE_PAGE, post=GOLDEN_WRITE_PAGE, obj="supplier"),
    "record-retire":            Rule(get=POST_ONLY_PAGE, post=GOLDEN_WRITE_PAGE, obj="supplier"),
    "record-unmerge":           Rule(get=POST_ONLY_PAGE, post=GOLDEN_WRITE_PAGE, obj="supplier"),
    # Unmasked bank details: approvers only (suppliers.reveal_supplierbankaccount), every reveal audited.
    "supplier-bank-accounts-reveal": Rule(get=POST_ONLY_PAGE, post="L D D D A D D D A D", obj="supplier"),
    # --- steward UI: review and change requests -----------------------------------------------------------------
    "review-inbox":             Rule(get=MDM_READ, post="L M M M M M M M M M"),
    "review-detail":            Rule(get=MDM_READ, post="L M M M M M M M M M", obj="candidate"),
    "review-decide":            Rule(get=POST_ONLY_PAGE, post="L D D A A D D D A D", obj="candidate"),
    "change-list":              Rule(get=MDM_READ, post="L M M M M M M M M M"),
    "change-detail":            Rule(get=MDM_READ, post="L M M M M M M M M M", obj="change"),
    # The world's change request is the steward's own, submitted: the approver may decide it (four eyes),
    # only the requester (or a superuser) may withdraw it.
    "change-approve":           Rule(get=POST_ONLY_PAGE, post="L D D D A D D D A D", obj="change"),
    "change-reject":            Rule(get=POST_ONLY_PAGE, post="L D D D A D D D A D", obj="change"),
    "change-withdraw":          Rule(get=POST_ONLY_PAGE, post="L D D A D D D D A D", obj="change"),
    "change-submit":            Rule(get=POST_ONLY_PAGE, post="L D D A A A D D A D", obj="change"),
    "change-rebase":            Rule(get=POST_ONLY_PAGE, post="L D D A A A D D A D", obj="change"),
    "change-comment":           Rule(get=POST_ONLY_PAGE, post="L D D A A A D D A D", obj="change"),
    "decisions-export":         Rule(get=MDM_READ, post="L M M M M M M M M M"),
    # --- operations pages ---------------------------------------------------------------------------------------
    "operations":               Rule(get=SYNC_READ, post="L M M M M M M M M M"),
    "operations-deliveries":    Rule(get=SYNC_READ, post="L M M M M M M M M M"),
    "operations-delivery":      Rule(get=SYNC_READ, post="L M M M M M M M M M", obj="delivery"),
    "operations-target":        Rule(get=SYNC_READ, post="L M M M M M M M M M", obj="target"),
    "operations-delivery-replay":     Rule(get=POST_ONLY_PAGE, post="L D D D D D A D A D", obj="delivery"),
    "operations-target-replay-dead":  Rule(get=POST_ONLY_PAGE, post="L D D D D D A D A D", obj="target"),
    "operations-target-replay-since": Rule(get=POST_ONLY_PAGE, post="L D D D D D A D A D", obj="target"),
    "operations-target-check":        Rule(get=POST_ONLY_PAGE, post="L D D D D D A D A D", obj="target"),
    # --- API: sources, matching, change requests ----------------------------------------------------------------
    "sourcesystem-list":        Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "sourcesystem-detail":      Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="system"),
    # ingest: mdm.add_sourcerecord (stewards, approvers, integration)
    "sourcerecord-list":        Rule(get=MDM_READ, post="L D D A A A D D A D"),
    "sourcerecord-detail":      Rule(get=MDM_READ, post="L D D M M M D D M D", obj="source_record"),
    "quarantinedrecord-list":   Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "quarantinedrecord-detail": Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="quarantined"),
    "ingestbatch-list":         Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "ingestbatch-detail":       Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="batch"),
    "match-candidate-list":     Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "match-candidate-detail":   Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="candidate"),
    "match-candidate-decide":   Rule(get="L M M M M M M M M M", post="L D D A A D D D A D", obj="candidate"),
    "match-decision-list":      Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "match-decision-detail":    Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="decision"),
    "match-run-list":           Rule(get=MDM_READ, post="L D D A A D D D A D"),
    "match-run-detail":         Rule(get=MDM_READ, post="L D D M M D D D M D", obj="run"),
    # online match: read-only scoring, for whoever may read the golden records
    "match-item-list":          Rule(get="L D M M M M M M M M", post=GOLDEN_READ),
    "match-supplier-list":      Rule(get="L D M M M M M M M M", post=GOLDEN_READ),
    "change-request-list":      Rule(get=MDM_READ, post="L D D A A A D D A D"),
    "change-request-detail":    Rule(get=MDM_READ, post="L D D M M M D D M D", obj="change"),
    "change-request-approve":   Rule(get="L D M M M M D M M M", post="L D D D A D D D A D", obj="change"),
    "change-request-reject":    Rule(get="L D M M M M D M M M", post="L D D D A D D D A D", obj="change"),
    "change-request-withdraw":  Rule(get="L D M M M M D M M M", post="L D D A D D D D A D", obj="change"),
    "change-request-submit":    Rule(get="L D M M M M D M M M", post="L D D A A A D D A D", obj="change"),
    "change-request-rebase":    Rule(get="L D M M M M D M M M", post="L D D A A A D D A D", obj="change"),
    "change-request-comment":   Rule(get="L D M M M M D M M M", post="L D D A A A D D A D", obj="change"),
    "decision-list":            Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "decision-export":          Rule(get=MDM_READ, post=API_READ_ONLY_POST),
    "decision-detail":          Rule(get=MDM_READ, post=API_READ_ONLY_POST, obj="decision_log"),
    "lineage-detail":           Rule(get=GOLDEN_READ, post="L M M M M M M M M M"),
    # --- API: golden records (read-only; changes go through change requests) ------------------------------------
    "unit-list":                Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST),
    "unit-detail":              Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST, obj="unit"),
    "uom-convert-list":         Rule(get="L D A A A A A A A B", post=API_GOLDEN_READ_ONLY_POST,
                                     query="qty=2&from=BX&to=EA&item={item}"),
    "supplier-list":            Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST),
    "supplier-detail":          Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST, obj="supplier"),
    "item-list":                Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST),
    "item-detail":              Rule(get="L D A A A A A A A N", post=API_GOLDEN_READ_ONLY_POST, obj="item"),
    "contract-list":            Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST),
    "contract-detail":          Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST, obj="contract"),
    "contractprice-list":       Rule(get=GOLDEN_READ, post=API_GOLDEN_READ_ONLY_POST),
    "contractprice-detail":     Rule(get="L D A A A A A A A N", post=API_GOLDEN_READ_ONLY_POST, obj="price"),
    # An item the caller may not see is refused as an unknown one ("There is no item 1.", 400).
    "contractprice-lookup":     Rule(get="L D A A A A A A A B", post=API_GOLDEN_READ_ONLY_POST,
                                     query="item={item}&qty=1&unit=BX&date=2026-06-01"),
    "contractprice-compare":    Rule(get="L D A A A A A A A B", post=API_GOLDEN_READ_ONLY_POST,
                                     query="item={item}&date=2026-06-01"),
    # --- API: syndication ---------------------------------------------------------------------------------------
    "sync-target-list":         Rule(get=SYNC_READ, post=API_READ_ONLY_POST),
    "sync-target-detail":       Rule(get=SYNC_READ, post=API_READ_ONLY_POST, obj="target"),
    "sync-target-check":        Rule(get=API_OPS_ACTION_GET, post=API_OPS_ACTION, obj="target"),
    "sync-target-replay-dead":  Rule(get=API_OPS_ACTION_GET, post=API_OPS_ACTION, obj="target"),
    "sync-target-replay-since": Rule(get=API_OPS_ACTION_GET, post=API_OPS_ACTION, obj="target"),
    "sync-delivery-list":       Rule(get=SYNC_READ, post=API_READ_ONLY_POST),
    "sync-delivery-detail":     Rule(get=SYNC_READ, post=API_READ_ONLY_POST, obj="delivery"),
    "sync-delivery-replay":     Rule(get=API_OPS_ACTION_GET, post=API_OPS_ACTION, obj="delivery"),
    "sync-event-list":          Rule(get=SYNC_READ, post=API_READ_ONLY_POST),
    "sync-event-detail":        Rule(get=SYNC_READ, post=API_READ_ONLY_POST, obj="event"),
    "sync-keymap-list":         Rule(get=SYNC_READ, post=API_READ_ONLY_POST),
    "sync-keymap-detail":       Rule(get=SYNC_READ, post=API_READ_ONLY_POST, obj="keymap"),
    # --- identity, bank details, audit, trace --------------------------------------------------------------------
    # API tokens of one's own: mdm.add_apitoken (integration, operations) and superusers. The world's token is the
    # integration account's: anyone else revoking it gets a 404, as for a token that does not exist.
    "account-tokens":           Rule(get="L D D D D A A D A D", post="L D D D D A A D A D"),
    "account-token-revoke":     Rule(get="M M M M M M M M M M", post="L D D D D A N D N D", obj="token"),
    # The second factor: anyone signed in may enrol, verify and remove their own.
    "otp-setup":                Rule(get=SIGNED_IN, post=SIGNED_IN),
    "otp-verify":               Rule(get=SIGNED_IN, post=SIGNED_IN),
    "otp-remove":               Rule(get="M M M M M M M M M M", post=SIGNED_IN),
    # Unmasked bank accounts over the API: suppliers.reveal_supplierbankaccount (approvers), audited.
    "api/v1/suppliers/<pk>/bank-accounts/": Rule(get="L D D D A D D D A D", post=API_GOLDEN_READ_ONLY_POST,
                                                 obj="supplier"),
    "api/v1/suppliers/bank-accounts/export/": Rule(get="L D D D A D D D A D", post=API_GOLDEN_READ_ONLY_POST),
    # The audit log: mdm.view_auditevent (auditors) and superusers.
    "api/v1/audit/":            Rule(get="L D D D D D D A A D", post=API_READ_ONLY_POST),
    "api/v1/audit/<pk>/":       Rule(get="L D D D D D D A A D", post=API_READ_ONLY_POST, obj="audit_event"),
    "api/v1/audit/export/":     Rule(get="L D D D D D D A A D", post=API_READ_ONLY_POST),
    # Trace a record or correlation id: whoever reads golden records; the deliveries part needs sync.view_delivery.
    "trace/":                   Rule(get=GOLDEN_READ),
    "api/v1/trace/":            Rule(get=GOLDEN_READ, post="L D M M M M M M M M", query="golden=supplier:{supplier}"),
}
# fmt: on


# --- tests --------------------------------------------------------------------------------------------------------

URLS = discover()


def _entry_for(url: Url) -> str | None:
    for key in (url.name, url.route):
        if key in MATRIX:
            return key
    return None


def _url_for(key: str) -> Url | None:
    return next((url for url in URLS if key in (url.name, url.route)), None)


def test_every_url_has_an_entry():
    missing = [url for url in URLS if not url.admin and _entry_for(url) is None]
    assert not missing, "\n".join(
        f"new endpoint {url.route} ({url.name or 'unnamed'}) has no entry in the authorization matrix: add one "
        "to MATRIX in tests/security/test_url_matrix.py"
        for url in missing
    )


def test_every_entry_names_a_url():
    gone = [key for key, rule in MATRIX.items() if _url_for(key) is None]
    assert not gone, "\n".join(
        f"the authorization matrix has an entry for {key}, which is no longer a URL of the project: remove it"
        for key in gone
    )


@pytest.fixture(scope="module")
def sessions(world, django_db_blocker):
    """One session per signed-in caller, made once (inside the world's transaction: a logout is rolled back)."""
    keys = {}
    with django_db_blocker.unblock():
        for caller, user in world.users.items():
            if user is not None:
                client = Client()
                client.force_login(user)
                keys[caller] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return keys


def _client(cls, sessions, caller):
    client = cls()
    if caller in sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[caller]
    return client


def _path(url: Url, rule: Rule, world) -> str:
    kwargs = {}
    for param in url.params:
        if param == "pk":
            kwargs[param] = getattr(world, rule.obj).pk
        elif param == "entity_type":
            kwargs[param] = "supplier"
        elif param == "object_id":
            kwargs[param] = world.supplier.pk
        elif param == "uidb64":
            kwargs[param] = "MQ"  # user 1; the token below is no valid one: the "invalid link" page
        elif param == "token":
            kwargs[param] = "set-password"
        else:
            raise AssertionError(f"{url.route}: no value for <{param}>: teach _path in test_url_matrix.py")
    if url.name:
        return reverse(url.name, kwargs=kwargs)
    path = "/" + url.route
    for name, value in kwargs.items():
        path = path.replace(f"<{name}>", str(value))
    return path


CELLS = [pytest.param(key, caller, id=f"{key}-{caller}") for key in MATRIX for caller in CALLERS]


@pytest.mark.parametrize(("key", "caller"), CELLS)
def test_cell(key, caller, world, sessions, settings):
    settings.MDM_METRICS_PUBLIC = False
    rule = MATRIX[key]
    url = _url_for(key)
    if url is None:
        pytest.fail(f"the authorization matrix has an entry for {key}, which is no longer a URL of the project")
    column = CALLERS.index(caller)
    path = _path(url, rule, world)
    client = _client(APIClient if url.is_api else Client, sessions, caller)
    login = rule.login or (401 if url.is_api else 302)
    for method in ("GET", "POST"):
        expected = rule.cells(method)[column]
        if expected == ".":
            continue
        cache.clear()  # rate limits count per caller: this test is about permissions
        if method == "GET":
            query = rule.query.format(item=world.item.pk, supplier=world.supplier.pk)
            response = client.get(f"{path}?{query}" if query else path)
        elif url.is_api:
            response = client.post(path, {}, format="json")
        else:
            response = client.post(path, {})
        got = classify(response, method)
        where = f"{method} {path} as {caller} ({key})"
        assert got == expected, (
            f"{where}: expected {WORDS.get(expected, expected)}, got {response.status_code} "
            f"{response.get('Location', '')} {response.content[:200]!r}"
        )
        if expected == "L":
            assert response.status_code == login, f"{where}: a login answer here is {login}"


# --- admin: rules by prefix -----------------------------------------------------------------------------------
#
# Every admin URL is for staff only: anonymous callers and every role (none of them is staff) are sent to the admin
# login page, whatever the URL. Anonymous callers and the approver (the role holding the most permissions) try every
# admin URL; the other roles each model's changelist. The superuser opens every changelist. A staff member holding
# only suppliers.view_supplier may look but not change.

ADMIN_OPEN = {"admin/login/"}  # the admin's own login page answers everybody
ADMIN_LOGOUT = "admin/logout/"  # a caller who is not staff is sent to the admin index (and from there to login)
ADMIN_URLS = [url for url in URLS if url.admin]


def _admin_group(url: Url) -> str:
    parts = url.route.split("/")
    if len(parts) > 3 and parts[1] in {model._meta.app_label for model in admin.site._registry} and parts[2]:
        return f"admin/{parts[1]}/{parts[2]}/"
    return "admin/"


def _admin_path(url: Url) -> str:
    values = {"url": "no/such/page/", "app_label": "mdm"}
    path = "/" + url.route
    for param in url.params:
        path = path.replace(f"<{param}>", str(values.get(param, 1)))
    return path


ADMIN_GROUPS: dict[str, list[Url]] = {}
for _url in ADMIN_URLS:
    ADMIN_GROUPS.setdefault(_admin_group(_url), []).append(_url)

EVERY_ADMIN_URL = {"anonymous", "approver"}
NON_STAFF = [caller for caller in CALLERS if caller != "superuser"]


@pytest.mark.parametrize(
    ("group", "caller"), [pytest.param(g, c, id=f"{g}-{c}") for g in ADMIN_GROUPS for c in NON_STAFF]
)
def test_admin_sends_non_staff_to_the_admin_login(group, caller, sessions):
    client = _client(Client, sessions, caller)
    urls = ADMIN_GROUPS[group]
    if caller not in EVERY_ADMIN_URL:
        urls = [url for url in urls if url.name is None or url.name.endswith(("_changelist", ":index"))] or urls[:1]
    for url in urls:
        path = _admin_path(url)
        response = client.get(path)
        location = urlparse(response.get("Location", "")).path
        if url.route in ADMIN_OPEN:
            assert response.status_code == 200, f"GET {path} as {caller}: the admin login page answers everybody"
            continue
        if url.route == ADMIN_LOGOUT:
            assert (response.status_code, location) == (302, "/admin/"), f"GET {path} as {caller}"
            continue
        assert response.status_code == 302 and location == ADMIN_LOGIN, (
            f"GET {path} as {caller}: expected a redirect to {ADMIN_LOGIN} (admin URLs are for staff only), got "
            f"{response.status_code} {location}"
        )


CHANGELISTS = sorted(url.name for url in ADMIN_URLS if url.name and url.name.endswith("_changelist"))


@pytest.mark.parametrize("name", CHANGELISTS)
def test_admin_changelists_open_for_the_superuser(name, sessions):
    response = _client(Client, sessions, "superuser").get(reverse(name))
    assert response.status_code == 200, f"{name} as superuser: {response.status_code}"


@pytest.fixture
def view_only_staff(db):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("sec.staff.viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="suppliers", codename="view_supplier"))
    client = Client()
    client.force_login(user)
    return client


def test_admin_view_permission_reads_but_never_changes(view_only_staff, world):
    from suppliers.models import Supplier

    client = view_only_staff
    supplier = world.supplier
    change = reverse("admin:suppliers_supplier_change", args=[supplier.pk])
    assert client.get(reverse("admin:suppliers_supplier_changelist")).status_code == 200
    assert client.get(change).status_code == 200  # the read-only form
    assert client.post(change, {"legal_name": "Changed by a viewer"}).status_code == 403
    assert client.get(reverse("admin:suppliers_supplier_add")).status_code == 403
    assert client.get(reverse("admin:suppliers_supplier_delete", args=[supplier.pk])).status_code == 403
    assert (
        client.post(reverse("admin:suppliers_supplier_delete", args=[supplier.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:items_item_changelist")).status_code == 403
    assert client.get(reverse("admin:suppliers_supplierbankaccount_changelist")).status_code == 403
    assert Supplier.objects.get(pk=supplier.pk).legal_name == supplier.legal_name
