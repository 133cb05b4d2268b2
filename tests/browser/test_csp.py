"""The Content Security Policy and the UI get along: no page triggers a violation, htmx still works. Real Chromium.

Every page is opened with a listener for ``securitypolicyviolation`` installed before any page script runs, and
Chromium's console is watched for "Content Security Policy" refusals: an inline style, an inline script, an
``eval`` (htmx's hx-on, its injected indicator styles) or a third-party asset anywhere fails the test.
"""

import pytest
from django.contrib.auth.models import Group, User

from mdm.models import MatchCandidate
from mdm.services.changes import change_request_create
from suppliers.services import supplier_create
from sync.models import Delivery, OutboxEvent, Target
from tests.browser.test_review import duplicate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
                               source: e.sourceFile + ":" + e.lineNumber});
});
"""


@pytest.fixture
def scene(transactional_db):
    steward = User.objects.create_user("sam.steward", password=PASSWORD, is_staff=True)  # staff: the admin too
    steward.groups.add(Group.objects.get(name="steward"))

    def make(name, **extra):
        return supplier_create(data={"legal_name": name, **extra}, actor=steward, reason="test")

    medline = make("Medline Industries, LP", duns="025483210", ein="36-1234567")
    twin = make("MEDLINE INDUSTRIES LP", duns="025483210")
    make("Cardinal Health 200, LLC")
    candidate = duplicate(medline, twin, 0.62)
    change = change_request_create(
        entity_type="supplier",
        kind="update",
        object_id=medline.pk,
        changes={"gln": "0614141000005"},
        actor=steward,
        reason="GLN from the GS1 registry",
    )
    target = Target.objects.create(name="odoo-prod", kind=Target.Kind.ODOO)
    event = OutboxEvent.objects.create(
        entity_type="supplier", object_id=medline.pk, version=1, change_type="update", payload={"id": medline.pk}
    )
    delivery = Delivery.objects.create(
        target=target,
        event=event,
        entity_type="supplier",
        object_id=medline.pk,
        version=1,
        status=Delivery.Status.DEAD,
        last_error="ValidationError: the partner needs a name",
        request_excerpt='{"name": ""}',
    )
    return {"medline": medline, "candidate": candidate, "change": change, "target": target, "delivery": delivery}


@pytest.fixture
def watched(page):
    """The page, with CSP violations and console refusals collected on every navigation."""
    console = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    page.add_init_script(WATCH_VIOLATIONS)
    page.console_log = console
    return page


def assert_no_violation(page, where: str) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations || []")
    refusals = [line for line in page.console_log if "Content Security Policy" in line or "pageerror" in line]
    assert not violations and not refusals, f"{where}: {violations} {refusals}"


def test_every_page_keeps_to_the_policy(watched, live_server, scene):
    page, base = watched, live_server.url
    response = page.goto(f"{base}/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert_no_violation(page, "login")
    page.fill("#id_username", "sam.steward")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert_no_violation(page, "dashboard")

    medline, candidate, change, target = (scene[k] for k in ("medline", "candidate", "change", "target"))
    pages = {
        "search": "/search/?q=Medline&type=supplier",
        "record": f"/records/supplier/{medline.pk}/",
        "review inbox": "/review/",
        "review compare": f"/review/{candidate.pk}/",
        "change list": "/changes/",
        "change detail": f"/changes/{change.pk}/",
        "operations": "/operations/",
        "deliveries": "/operations/deliveries/",
        "target": f"/operations/targets/{target.pk}/",
        "admin index": "/admin/",
        "admin changelist": "/admin/suppliers/supplier/",
        "admin change form": f"/admin/suppliers/supplier/{medline.pk}/change/",
        "admin delivery": f"/admin/sync/delivery/{scene['delivery'].pk}/change/",  # excerpts in <pre>
        "browsable API": "/api/v1/",
        "not found": "/no/such/page/",
    }
    for name, path in pages.items():
        response = page.goto(f"{base}{path}")
        assert response.status == (404 if name == "not found" else 200), (name, response.status)
        assert_no_violation(page, name)
    page.goto(f"{base}/")
    page.screenshot(path="/tmp/h4-dashboard.png", full_page=True)
    page.goto(f"{base}/review/{candidate.pk}/")
    assert page.locator("svg.bar rect").count() > 0  # the evidence bars, drawn without inline styles
    page.screenshot(path="/tmp/h4-review.png", full_page=True)

    # Swagger UI runs its start-up script under the nonce and renders the schema.
    page.goto(f"{base}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "MDM hub API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for()
    assert_no_violation(page, "api docs")
    page.screenshot(path="/tmp/h4-api-docs.png")


def test_htmx_works_under_the_policy(watched, live_server, scene):
    """htmx posts with the CSRF token from the page (the cookie is HttpOnly) and swaps without eval or styles."""
    page, base = watched, live_server.url
    page.goto(f"{base}/accounts/login/?next=/records/supplier/new/")
    page.fill("#id_username", "sam.steward")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/records/supplier/new/")
    assert page.evaluate("Boolean(window.htmx)")
    assert page.evaluate("document.cookie").find("csrftoken") == -1  # HttpOnly: no script can read it

    # live duplicate suggestions while typing (hx-post)
    page.locator("#id_legal_name").press_sequentially("Medline Industries Inc", delay=20)
    page.locator("#suggestions tr.suggestion a", has_text="Medline Industries, LP").wait_for()
    assert_no_violation(page, "suggestions")

    # the review decision form swaps the panel in place (hx-post + hx-select)
    candidate = scene["candidate"]
    page.goto(f"{base}/review/{candidate.pk}/")
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_reason", "ask the vendor first")
    page.click("#decide-form button[value=defer]")
    page.locator("ul.messages").wait_for()
    assert "Deferred" in page.locator("ul.messages").inner_text()
    assert page.evaluate("window.__sameDocument === true"), "swapped by htmx, not reloaded"
    candidate.refresh_from_db()
    assert candidate.status == MatchCandidate.Status.DEFERRED
    assert_no_violation(page, "review decide")
