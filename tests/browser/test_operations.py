"""Operations watch a real Odoo outage and its recovery in headless Chromium (screenshots in docs/)."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from sync.models import Delivery
from tests.browser.conftest import publish
from tests.odoo_server import OdooTestServer
from tests.sync.records import drain, odoo_target

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def odoo():
    server = OdooTestServer(version=17)
    server.start()
    yield server
    server.stop()


def test_an_outage_and_its_recovery(page, live_server, odoo, make_item, screenshot_dir):
    operator = User.objects.create_user("olga.ops", password="correct horse battery")
    operator.groups.add(Group.objects.get(name="operations"))
    target = odoo_target(odoo, name="Odoo 17 (purchasing)", entity_types=("supplier", "item", "contract_price"))
    for n in range(12):
        make_item(f"Exam glove nitrile powder-free size {n}", part=f"GLV-{n:03d}")
    drain(target)
    assert Delivery.objects.filter(target=target, status="delivered").count() == 13
    odoo.set_down(True)
    for n in range(12, 40):
        make_item(f"Suction catheter {n} FR", part=f"CATH-{n:03d}")
    drain(target)
    failing = Delivery.objects.filter(target=target, status="failed").count()
    assert failing == 28

    page.goto(f"{live_server.url}/operations/")
    page.fill("#id_username", "olga.ops")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/operations/")
    row = page.locator("tr", has_text="Odoo 17 (purchasing)").first
    assert "28" in row.inner_text()
    page.screenshot(path=str(screenshot_dir / "operations-outage.png"), full_page=True)
    publish(screenshot_dir / "operations-outage.png", "operations-outage.png")
    page.goto(f"{live_server.url}/operations/deliveries/?status=failed")
    assert "Connection refused" in page.content() or "refused" in page.content().lower()

    odoo.set_down(False)
    Delivery.objects.filter(target=target, status="failed").update(next_attempt_at=timezone.now())
    drain(target)
    assert Delivery.objects.filter(target=target, status="delivered").count() == 41
    assert len(odoo.records("product.template")) == 40
    page.goto(f"{live_server.url}/operations/")
    row = page.locator("tr", has_text="Odoo 17 (purchasing)").first
    assert "41" in row.inner_text()
    page.screenshot(path=str(screenshot_dir / "operations-recovered.png"), full_page=True)
    publish(screenshot_dir / "operations-recovered.png", "operations-recovered.png")
    recovered = Delivery.objects.filter(target=target, entity_type="item", attempts__gt=1).first()
    page.goto(f"{live_server.url}/operations/deliveries/?status=delivered&entity_type=item")
    page.locator(f"a[href='/operations/deliveries/{recovered.pk}/']").first.click()
    assert "__mdm__.item_" in page.content()
    page.screenshot(path=str(screenshot_dir / "operations-delivery.png"), full_page=True)
    publish(screenshot_dir / "operations-delivery.png", "operations-delivery.png")
