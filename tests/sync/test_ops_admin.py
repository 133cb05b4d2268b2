"""Syndication admin: targets with a write-only secret and validated subscriptions; read-only evidence; actions."""

import pytest
from django.db import connection

from mdm import roles
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, Target
from tests.conftest import _user
from tests.sync.records import IBAN
from tests.sync.test_ops_ui import SECRET, make_delivery, make_target

pytestmark = pytest.mark.django_db

S = Delivery.Status
ADD = "/admin/sync/target/add/"


@pytest.fixture
def ops_staff(db):
    return _user("olga.ops", roles.OPERATIONS, is_staff=True)


@pytest.fixture
def steward_staff(db):
    return _user("sam.staff", roles.STEWARD, is_staff=True)


def target_form(subscriptions=(), **fields) -> dict:
    data = {
        "name": "odoo-prod",
        "kind": "odoo",
        "enabled": "on",
        "url": "http://127.0.0.1:8069",
        "database": "odoo",
        "login": "mdm",
        "secret": "",
        "protocol": "auto",
        "company_id": "",
        "timeout_seconds": "30",
        "directory": "",
        "file_format": "jsonl",
        "batch_size": "200",
        "max_attempts": "8",
        "source_system": "",
        "subscriptions-TOTAL_FORMS": str(len(subscriptions)),
        "subscriptions-INITIAL_FORMS": "0",
        "subscriptions-MIN_NUM_FORMS": "0",
        "subscriptions-MAX_NUM_FORMS": "1000",
    }
    for n, (entity_type, filters) in enumerate(subscriptions):
        data[f"subscriptions-{n}-entity_type"] = entity_type
        data[f"subscriptions-{n}-filters"] = filters
        data[f"subscriptions-{n}-enabled"] = "on"
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def stored_secret_column(target) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM sync_target WHERE id = %s", [target.pk])
        return cursor.fetchone()[0]


def test_add_a_target_with_subscriptions_secret_encrypted_and_never_shown(admin_client):
    response = admin_client.post(
        ADD, target_form([("unit", ""), ("item", '{"unspsc__startswith": "42", "status": ["active"]}')], secret=SECRET)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    target = Target.objects.get(name="odoo-prod")
    assert target.secret == SECRET and SECRET not in stored_secret_column(target)
    subs = {s.entity_type: s.filters for s in target.subscriptions.all()}
    assert subs == {"unit": {}, "item": {"unspsc__startswith": "42", "status": ["active"]}}
    html = admin_client.get(f"/admin/sync/target/{target.pk}/change/").content.decode()
    assert SECRET not in html and "A secret is stored. Leave blank to keep it" in html
    assert 'type="password"' in html
    assert SECRET not in admin_client.get("/admin/sync/target/").content.decode()


def test_blank_keeps_the_secret_and_a_new_one_replaces_it(admin_client):
    target = make_target("hook", kind="webhook")
    change = f"/admin/sync/target/{target.pk}/change/"
    form = target_form(name="hook", kind="webhook", url="http://127.0.0.1:9/hook", database="", login="")
    assert admin_client.post(change, form).status_code == 302
    target.refresh_from_db()
    assert target.secret == SECRET
    assert admin_client.post(change, {**form, "secret": "rotated-secret-2"}).status_code == 302
    target.refresh_from_db()
    assert target.secret == "rotated-secret-2"


def test_target_validation_per_kind(admin_client):
    response = admin_client.post(ADD, target_form(database="", secret=""))
    html = response.content.decode()
    assert response.status_code == 200 and not Target.objects.exists()
    assert "Required for an Odoo target." in html and "the integration user&#x27;s API key" in html
    response = admin_client.post(ADD, target_form(kind="file_drop", url="", database="", login=""))
    assert "Required for a file drop target." in response.content.decode() and not Target.objects.exists()


def test_subscriptions_are_checked_against_the_adapter_and_the_payload(admin_client):
    response = admin_client.post(
        ADD,
        target_form(
            [("contract", ""), ("item", '{"colour": "red"}'), ("supplier", '{"legal_name__startswith": true}')],
            secret=SECRET,
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200 and not Target.objects.exists()
    assert "An Odoo target cannot receive contract records; it takes unit, supplier, item, contract_price." in html
    assert "&#x27;colour&#x27; is not a value of a published item you can filter on" in html
    assert "&#x27;legal_name__startswith&#x27; takes a prefix or a list of prefixes (text)." in html
    # a webhook takes contracts
    response = admin_client.post(
        ADD, target_form([("contract", '{"kind": "gpo"}')], kind="webhook", database="", login="", secret=SECRET)
    )
    assert response.status_code == 302
    assert Subscription.objects.get().filters == {"kind": "gpo"}


def test_view_only_staff_sees_no_secret(client, steward_staff):
    target = make_target("hook")
    client.force_login(steward_staff)
    response = client.get(f"/admin/sync/target/{target.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in html and "set (encrypted; never shown)" in html and 'type="password"' not in html
    assert client.post(f"/admin/sync/target/{target.pk}/change/", target_form(name="x")).status_code == 403


def test_check_connection_action(client, ops_staff, tmp_path):
    good = make_target("drop", kind="file_drop", directory=str(tmp_path))
    bad = make_target("gone", kind="file_drop", directory=str(tmp_path / "missing"))
    client.force_login(ops_staff)
    response = client.post(
        "/admin/sync/target/", {"action": "check_connection", "_selected_action": [good.pk, bad.pk]}, follow=True
    )
    html = response.content.decode()
    assert f"Connected to drop: directory {tmp_path}, free bytes " in html
    assert "Could not connect to gone: File drop directory " in html and "does not exist" in html


def test_replay_action_needs_the_replay_permission(client, ops_staff, steward_staff):
    target = make_target("alpha")
    dead = [make_delivery(target, S.DEAD, object_id=n) for n in (1, 2)]
    sending = make_delivery(target, S.SENDING, object_id=3)
    selected = {"action": "replay_selected", "_selected_action": [d.pk for d in [*dead, sending]]}
    client.force_login(steward_staff)
    assert "replay_selected" not in client.get("/admin/sync/delivery/").content.decode()
    client.post("/admin/sync/delivery/", selected)
    assert Delivery.objects.filter(status=S.DEAD).count() == 2
    client.force_login(ops_staff)
    html = client.post("/admin/sync/delivery/", selected, follow=True).content.decode()
    assert "2 deliveries queued again; 1 pending or being sent left as they are." in html
    assert set(Delivery.objects.filter(pk__in=[d.pk for d in dead]).values_list("status", flat=True)) == {S.PENDING}
    assert Delivery.objects.filter(pk__in=[d.pk for d in dead], replayed_by=ops_staff).count() == 2


def test_evidence_is_read_only_masked_and_redacted(admin_client, supplier):
    target = make_target("alpha")
    event = OutboxEvent.objects.filter(entity_type="supplier", object_id=supplier.pk).latest("id")
    sealed = event.payload["bank_accounts"][0]["iban"]["sealed"]
    delivery = make_delivery(
        target,
        S.DEAD,
        entity_type="supplier",
        object_id=supplier.pk,
        event=event,
        last_error=f"no ({SECRET})",
        request_excerpt=f"key {SECRET} iban {sealed}",
    )
    key = KeyMap.objects.create(
        target=target, entity_type="supplier", object_id=supplier.pk, target_ref="9", last_payload={"acc_number": IBAN}
    )
    pages = {
        f"/admin/sync/outboxevent/{event.pk}/change/": "••••3000",
        f"/admin/sync/delivery/{delivery.pk}/change/": "key [redacted] iban [sealed]",
        f"/admin/sync/keymap/{key.pk}/change/": "res.partner" if key.target_model else "9",
        "/admin/sync/delivery/": "alpha",
        "/admin/sync/outboxevent/": "supplier",
        "/admin/sync/keymap/": "supplier",
        "/admin/sync/syncrun/": "0 sync runs",
    }
    for url, expected in pages.items():
        response = admin_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert expected in html, url
        for secret in (SECRET, IBAN, sealed):
            assert secret not in html, (url, secret)
    for model in ("delivery", "outboxevent", "keymap", "syncrun"):
        assert admin_client.get(f"/admin/sync/{model}/add/").status_code == 403


def test_subscription_page_checks_the_targets_kind_too(admin_client):
    odoo = make_target("odoo", kind="odoo", database="odoo", login="mdm")
    data = {"target": odoo.pk, "entity_type": "contract", "filters": "", "enabled": "on"}
    response = admin_client.post("/admin/sync/subscription/add/", data)
    assert response.status_code == 200 and "An Odoo target cannot receive contract records" in response.content.decode()
    assert admin_client.post("/admin/sync/subscription/add/", {**data, "entity_type": "item"}).status_code == 302
    assert Subscription.objects.get().filters == {}
