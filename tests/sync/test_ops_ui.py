"""Operations pages: figures per target, deliveries with filters, one delivery, one target; replay and checks.

Rows are made directly (targets, outbox events, deliveries); the figures are checked against what was made, the
actions run the real services and the checks connect for real (a file-drop directory, a closed port).
"""

import re
import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mdm import roles
from sync import selectors
from sync.models import Delivery, KeyMap, OutboxEvent, Subscription, SyncRun, Target
from tests.conftest import _user
from tests.sync.records import IBAN

pytestmark = pytest.mark.django_db

S = Delivery.Status
SECRET = "PLANTED-s3cret-7f3e9c1d2b"


# --- rows made directly (also used by test_ops_api and test_ops_admin) -----------------------------------------


def make_target(name="odoo-prod", kind=Target.Kind.WEBHOOK, **extra):
    defaults = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    if kind == Target.Kind.FILE_DROP:
        defaults = {"directory": "/nonexistent/mdm-drop"}
    return Target.objects.create(name=name, kind=kind, **{**defaults, **extra})


def make_event(entity_type="item", object_id=1, version=1, *, payload=None, **extra):
    payload = payload or {"entity_type": entity_type, "id": object_id, "version": version, "status": "active"}
    return OutboxEvent.objects.create(
        entity_type=entity_type,
        object_id=object_id,
        version=version,
        change_type=extra.pop("change_type", "update"),
        payload=payload,
        dispatched_at=extra.pop("dispatched_at", timezone.now()),
        **extra,
    )


def make_delivery(
    target, status=S.DELIVERED, *, entity_type="item", object_id=1, version=1, ago=None, event=None, **extra
):
    """A delivery queued ``ago`` (a timedelta) before now; delivered ones are delivered then too."""
    now = timezone.now()
    created = now - (ago or timedelta(0))
    event = event or make_event(entity_type, object_id, version, correlation_id=extra.get("correlation_id", ""))
    if status == S.DELIVERED:
        extra.setdefault("delivered_at", created)
    return Delivery.objects.create(
        target=target,
        event=event,
        entity_type=entity_type,
        object_id=object_id,
        version=version,
        status=status,
        created_at=created,
        next_attempt_at=extra.pop("next_attempt_at", created),
        **extra,
    )


@pytest.fixture
def ops(db):
    return _user("olga.ops", roles.OPERATIONS)


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def make_busy():
    """Target "alpha" needing attention (dead letters, a pending one 20 min old) and a healthy "beta"."""
    alpha = make_target("alpha", detected_version="17.0")
    beta = make_target("beta", kind=Target.Kind.FILE_DROP)
    make_delivery(alpha, S.PENDING, object_id=1, ago=timedelta(minutes=20))
    make_delivery(alpha, S.PENDING, object_id=2, ago=timedelta(minutes=1))
    make_delivery(alpha, S.FAILED, object_id=3, ago=timedelta(minutes=5), attempts=2, last_error="HTTP 503 busy")
    make_delivery(alpha, S.SENDING, object_id=4)
    make_delivery(alpha, S.DEAD, object_id=5, attempts=1, error_kind="permanent", last_error="ValidationError: bad UoM")
    make_delivery(alpha, S.DEAD, object_id=6, attempts=8, error_kind="transient", last_error="timed out")
    make_delivery(alpha, S.SUPERSEDED, object_id=7)
    make_delivery(alpha, S.DELIVERED, object_id=8, ago=timedelta(minutes=10))
    make_delivery(alpha, S.DELIVERED, object_id=9, ago=timedelta(hours=2))
    make_delivery(beta, S.DELIVERED, object_id=1, ago=timedelta(minutes=3))
    make_delivery(beta, S.PENDING, object_id=2, ago=timedelta(minutes=2))
    return alpha, beta


@pytest.fixture
def busy(db):
    return make_busy()


# --- figures --------------------------------------------------------------------------------------------------


def test_overview_figures_per_target(busy):
    alpha, beta = busy
    rows = {row["name"]: row for row in selectors.target_overview()}
    a, b = rows["alpha"], rows["beta"]
    assert (a["pending"], a["sending"], a["failed"], a["dead"], a["superseded"]) == (3, 1, 1, 2, 1)
    assert a["delivered_last_hour"] == 1  # the one delivered 2 h ago is not counted
    assert 19 * 60 <= a["oldest_pending_age_seconds"] <= 21 * 60
    assert a["last_delivered_at"] == Delivery.objects.get(target=alpha, object_id=8).delivered_at
    assert a["stale"] and a["alert"] and a["alerts"] == ["2 dead letters", "oldest pending waiting 20 min"]
    assert a["detected_version"] == "17.0" and a["enabled"] is True
    assert (b["pending"], b["dead"], b["delivered_last_hour"], b["alert"]) == (1, 0, 1, False)
    assert 100 <= b["oldest_pending_age_seconds"] <= 140


def test_a_replayed_delivery_waits_since_its_replay(busy):
    alpha, _ = busy
    old = make_delivery(alpha, S.DEAD, object_id=10, ago=timedelta(days=3))
    Delivery.objects.filter(target=alpha, object_id__in=[1, 2, 3]).delete()
    Delivery.objects.filter(pk=old.pk).update(status=S.PENDING, replayed_at=timezone.now() - timedelta(minutes=2))
    (row,) = selectors.target_overview(Target.objects.filter(pk=alpha.pk))
    assert 100 <= row["oldest_pending_age_seconds"] <= 140 and not row["stale"]


def test_a_target_without_deliveries_has_zero_figures(db):
    target = make_target("empty")
    (row,) = selectors.target_overview([target])
    assert row["pending"] == row["dead"] == row["delivered_last_hour"] == 0
    assert row["oldest_pending_age_seconds"] is None and row["last_delivered_at"] is None and not row["alert"]


def _overview_queries(client, count: int) -> int:
    for n in range(count):
        target = make_target(f"t{count}-{n:02d}")
        make_delivery(target, S.DEAD, object_id=n + 1)
        make_delivery(target, S.PENDING, object_id=n + 1, version=2, ago=timedelta(minutes=30))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("operations"))
    assert response.status_code == 200
    assert response.content.decode().count('data-target="') == Target.objects.count()
    return len(ctx)


def test_overview_queries_do_not_grow_with_targets(ops_client, django_assert_max_num_queries):
    SyncRun.objects.create(target=make_target("runner"), kind="pull", status="done", figures={"fetched": 3})
    with_3 = _overview_queries(ops_client, 3)
    with_33 = _overview_queries(ops_client, 30)
    assert with_33 == with_3
    with django_assert_max_num_queries(12):
        ops_client.get(reverse("operations"))
    with django_assert_max_num_queries(3):
        selectors.target_overview()


# --- the overview page ----------------------------------------------------------------------------------------


def test_overview_page_shows_figures_red_rows_runs_backlog_and_actions(ops_client, busy):
    alpha, beta = busy
    SyncRun.objects.create(
        target=alpha, kind="reconcile", status="ok", finished_at=timezone.now(), figures={"checked": 40, "drift": 2}
    )
    make_event("unit", 77, dispatched_at=None, created_at=timezone.now() - timedelta(minutes=30))
    response = ops_client.get(reverse("operations"))
    html = response.content.decode()
    assert response.status_code == 200
    rows = {pk: css for css, pk in re.findall(r'<tr class="(alert|)" data-target="(\d+)"', html)}
    assert rows == {str(alpha.pk): "alert", str(beta.pk): ""}
    assert "2 dead letters; oldest pending waiting 20 min" in html
    assert "Replay dead letters (2)" in html and html.count("Check connection") == 2 and "Replay since…" in html
    assert "Reconciliation" in html and "checked 40" in html and "drift 2" in html  # jsonb keeps no key order
    assert (
        "<strong>1</strong> event waiting to be dispatched" in html and "is the Celery worker or beat running?" in html
    )
    assert f'href="/operations/deliveries/?target={alpha.pk}&amp;status=dead">2</a>' in html
    assert '<a href="/operations/"' in html and ">Operations</a>" in html  # the nav link, current


def test_empty_overview_says_how_to_add_targets(ops_client):
    html = ops_client.get(reverse("operations")).content.decode()
    assert "No targets yet" in html and "No inbound pulls or reconciliations have run yet" in html


def test_viewer_and_outsider_get_the_403_page_and_no_nav_link(client, viewer, outsider, busy):
    for user in (viewer, outsider):
        client.force_login(user)
        for url in (
            reverse("operations"),
            reverse("operations-deliveries"),
            reverse("operations-target", args=[busy[0].pk]),
            reverse("operations-delivery", args=[Delivery.objects.first().pk]),
        ):
            response = client.get(url)
            assert response.status_code == 403
            assert "sync.view_delivery" in response.content.decode()
        assert ">Operations</a>" not in client.get("/").content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("operations"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_steward_reads_but_has_no_action_buttons(client, steward, busy):
    client.force_login(steward)
    html = client.get(reverse("operations")).content.decode()
    assert "Replay dead letters" not in html and "Check connection" not in html and "view only" in html
    assert ">Operations</a>" in client.get("/").content.decode()


# --- deliveries list ------------------------------------------------------------------------------------------


def _listed(client, query: str = "") -> list[int]:
    response = client.get(reverse("operations-deliveries") + query)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', response.content.decode())]


def test_delivery_filters(ops_client, busy):
    alpha, beta = busy
    ids = lambda **kw: sorted(Delivery.objects.filter(**kw).values_list("pk", flat=True))  # noqa: E731
    assert sorted(_listed(ops_client)) == ids()
    assert sorted(_listed(ops_client, f"?target={beta.pk}")) == ids(target=beta)
    assert sorted(_listed(ops_client, "?status=dead")) == ids(status=S.DEAD)
    assert sorted(_listed(ops_client, f"?target={alpha.pk}&status=pending&status=failed")) == ids(
        target=alpha, status__in=[S.PENDING, S.FAILED]
    )
    assert sorted(_listed(ops_client, "?object_id=2")) == ids(object_id=2)
    assert _listed(ops_client, "?error=validationerror") == ids(last_error__contains="ValidationError")
    since = timezone.localtime(timezone.now() - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M")
    assert sorted(_listed(ops_client, f"?created_since={since}")) == ids(
        created_at__gte=timezone.now() - timedelta(minutes=15)
    )
    assert sorted(_listed(ops_client, f"?created_until={since}")) == ids(
        created_at__lt=timezone.now() - timedelta(minutes=15)
    )
    event = make_event("supplier", 50, correlation_id="corr-42")
    mine = make_delivery(beta, S.DELIVERED, entity_type="supplier", object_id=50, event=event, correlation_id="corr-42")
    assert _listed(ops_client, "?correlation_id=corr-42") == [mine.pk]
    assert _listed(ops_client, "?entity_type=supplier") == [mine.pk]


def test_invalid_filter_shows_the_error_not_everything(ops_client, busy):
    response = ops_client.get(reverse("operations-deliveries") + "?object_id=abc&status=lost")
    html = response.content.decode()
    assert 'id="filter-errors"' in html and "object_id: Enter a number." in html and "status:" in html
    assert 'data-pk="' not in html and "Fix the filters" in html


def test_delivery_list_empty_states(ops_client, busy):
    Delivery.objects.all().delete()
    assert "No deliveries yet" in ops_client.get(reverse("operations-deliveries")).content.decode()
    make_delivery(busy[0], S.DELIVERED)
    html = ops_client.get(reverse("operations-deliveries") + "?status=dead").content.decode()
    assert "No dead letters match these filters: nothing to replay." in html
    html = ops_client.get(reverse("operations-deliveries") + "?object_id=999").content.decode()
    assert "No deliveries match these filters" in html and "clear filters" in html


def test_delivery_list_pages_by_50(ops_client, db):
    target = make_target("many")
    for n in range(60):
        make_delivery(target, S.DELIVERED, object_id=n + 1)
    assert len(_listed(ops_client)) == 50
    html = ops_client.get(reverse("operations-deliveries") + "?page=2").content.decode()
    assert len(re.findall(r'<tr data-pk="', html)) == 10 and "page 2 of 2 (60 deliveries)" in html


def test_delivery_list_queries_are_bounded(ops_client, django_assert_max_num_queries, db):
    for n in range(40):
        make_delivery(make_target(f"t{n}") if n % 10 == 0 else Target.objects.last(), S.DEAD, object_id=n + 1)
    with django_assert_max_num_queries(10):
        assert len(_listed(ops_client, "?status=dead")) == 40


# --- one delivery ---------------------------------------------------------------------------------------------


def test_delivery_page_masks_bank_numbers_and_shows_excerpts_key_versions_and_timeline(ops_client, supplier):
    event = OutboxEvent.objects.filter(entity_type="supplier", object_id=supplier.pk).latest("id")
    sealed = event.payload["bank_accounts"][0]["iban"]["sealed"]
    alpha, beta = make_target("alpha"), make_target("beta")
    older = make_delivery(alpha, S.SUPERSEDED, entity_type="supplier", object_id=supplier.pk, event=event)
    event2 = make_event("supplier", supplier.pk, 2, payload=event.payload)
    delivery = make_delivery(
        alpha,
        S.DEAD,
        entity_type="supplier",
        object_id=supplier.pk,
        version=2,
        event=event2,
        attempts=1,
        error_kind="permanent",
        last_error=f"ValidationError: The VAT number is invalid (key {SECRET})",
        request_excerpt=f'{{"iban": {{"sealed": "{sealed}"}}, "Authorization": "Bearer {SECRET}"}}',
        response_excerpt='{"error": {"message": "Odoo Server Error"}}',
        correlation_id="corr-9",
    )
    make_delivery(beta, S.DELIVERED, entity_type="supplier", object_id=supplier.pk, version=2, event=event2)
    KeyMap.objects.create(
        target=alpha,
        entity_type="supplier",
        object_id=supplier.pk,
        target_model="res.partner",
        target_ref="321",
        external_id=f"__mdm__.supplier_{supplier.pk}",
        last_version=1,
        last_payload={"acc_number": IBAN},
    )
    response = ops_client.get(reverse("operations-delivery", args=[delivery.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "••••3000" in html and IBAN not in html and sealed not in html and SECRET not in html
    assert "ValidationError: The VAT number is invalid (key [redacted])" in html
    assert "Bearer [redacted]" in html and "[sealed]" in html and "Odoo Server Error" in html
    assert f"__mdm__.supplier_{supplier.pk}" in html and "res.partner" in html and "<code>321</code>" in html
    assert f'href="/operations/deliveries/{older.pk}/"' in html  # the other version at alpha
    assert html.count("(this one)") == 1 and "beta" in html  # the timeline at every target
    assert "Replay this delivery" in html and "1 of 8" in html
    assert f'href="/records/supplier/{supplier.pk}/"' in html
    assert "?correlation_id=corr-9" in html


def test_delivery_page_queries_are_bounded(ops_client, django_assert_max_num_queries, db):
    target = make_target("alpha")
    for version in range(1, 8):
        delivery = make_delivery(target, S.SUPERSEDED, version=version)
    with django_assert_max_num_queries(12):
        assert ops_client.get(reverse("operations-delivery", args=[delivery.pk])).status_code == 200


# --- actions --------------------------------------------------------------------------------------------------


def test_replay_one_delivery_needs_the_replay_permission(client, ops, steward, busy):
    dead = Delivery.objects.filter(status=S.DEAD).first()
    url = reverse("operations-delivery-replay", args=[dead.pk])
    client.force_login(steward)
    response = client.post(url)
    assert response.status_code == 403 and "sync.replay_delivery" in response.content.decode()
    assert Delivery.objects.get(pk=dead.pk).status == S.DEAD
    client.force_login(ops)
    response = client.post(url, follow=True)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.replayed_by) == (S.PENDING, 0, ops)
    assert f"Delivery #{dead.pk} queued again." in response.content.decode()
    # pending now: a second replay changes nothing and says so
    response = client.post(url, follow=True)
    assert "is pending: not replayed" in response.content.decode()


def test_replay_dead_letters_of_one_target(ops_client, busy):
    alpha, beta = busy
    make_delivery(beta, S.DEAD, object_id=40)
    back = reverse("operations")
    response = ops_client.post(reverse("operations-target-replay-dead", args=[alpha.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert not Delivery.objects.filter(target=alpha, status=S.DEAD).exists()
    assert Delivery.objects.filter(target=beta, status=S.DEAD).count() == 1
    html = ops_client.get(back).content.decode()
    assert "2 dead letters of alpha queued again." in html
    ops_client.post(reverse("operations-target-replay-dead", args=[alpha.pk]))
    assert "alpha has no dead letters to replay." in ops_client.get(back).content.decode()


def test_next_must_stay_on_this_site(ops_client, busy):
    response = ops_client.post(
        reverse("operations-target-replay-dead", args=[busy[0].pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("operations-target", args=[busy[0].pk])


def test_replay_since(ops_client, busy):
    alpha, _ = busy
    since = timezone.localtime(timezone.now() - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M")
    ops_client.post(reverse("operations-target-replay-since", args=[alpha.pk]), {"since": since})
    # queued in the last 15 min and not waiting already: failed 5 min ago, two dead, superseded, delivered 10 min ago
    replayed = Delivery.objects.filter(target=alpha, replayed_at__isnull=False)
    assert sorted(replayed.values_list("object_id", flat=True)) == [3, 5, 6, 7, 8]
    assert set(replayed.values_list("status", flat=True)) == {S.PENDING}
    assert "5 deliveries to alpha since" in ops_client.get(reverse("operations")).content.decode()


def test_replay_since_refuses_a_future_time_or_garbage(ops_client, busy):
    alpha, _ = busy
    url = reverse("operations-target-replay-since", args=[alpha.pk])
    future = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for value in (future, "yesterday"):
        ops_client.post(url, {"since": value})
        html = ops_client.get(reverse("operations-target", args=[alpha.pk])).content.decode()
        assert "Nothing replayed:" in html
    assert not Delivery.objects.filter(replayed_at__isnull=False).exists()


def test_replay_actions_refused_without_permission(client, steward, busy):
    alpha, _ = busy
    client.force_login(steward)
    for name, data in (
        ("operations-target-replay-dead", {}),
        ("operations-target-replay-since", {"since": "2020-01-01T00:00"}),
    ):
        assert client.post(reverse(name, args=[alpha.pk]), data).status_code == 403
    assert not Delivery.objects.filter(replayed_at__isnull=False).exists()


def test_check_connection_of_a_file_drop_for_real(client, ops, steward, tmp_path):
    good = make_target("drop", kind=Target.Kind.FILE_DROP, directory=str(tmp_path))
    bad = make_target("gone", kind=Target.Kind.FILE_DROP, directory=str(tmp_path / "missing"))
    client.force_login(steward)
    assert client.post(reverse("operations-target-check", args=[good.pk])).status_code == 403
    client.force_login(ops)
    html = client.post(reverse("operations-target-check", args=[good.pk]), follow=True).content.decode()
    assert f"Connected to drop: directory {tmp_path}, free bytes " in html
    html = client.post(reverse("operations-target-check", args=[bad.pk]), follow=True).content.decode()
    assert (
        "Could not connect to gone: File drop directory " in html
        and "does not exist" in html
        and 'class="error"' in html
    )


def test_check_connection_failure_never_shows_the_secret(ops_client, db):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = make_target("hook", url=f"http://127.0.0.1:{port}/hook")
    html = ops_client.post(reverse("operations-target-check", args=[target.pk]), follow=True).content.decode()
    assert "Could not connect to hook:" in html and SECRET not in html


def test_actions_are_post_only(ops_client, busy):
    assert ops_client.get(reverse("operations-target-replay-dead", args=[busy[0].pk])).status_code == 405


# --- one target -----------------------------------------------------------------------------------------------


def test_target_page_subscriptions_figures_counts_and_no_secret(ops_client, busy):
    alpha, _ = busy
    Subscription.objects.create(target=alpha, entity_type="item", filters={"unspsc__startswith": "42"})
    Subscription.objects.create(target=alpha, entity_type="unit", enabled=False)
    response = ops_client.get(reverse("operations-target", args=[alpha.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "{&quot;unspsc__startswith&quot;: &quot;42&quot;}" in html and "every record" in html
    assert 'id="target-alert"' in html and "2 dead letters" in html
    assert "set <span" in html and SECRET not in html
    counts = re.search(r'<table id="counts">.*?</table>', html, re.S).group(0)
    assert f'?target={alpha.pk}&amp;entity_type=item&amp;status=dead">2</a>' in counts
    assert len(re.findall(r'href="/operations/deliveries/\d+/"', html)) == 9  # latest deliveries
    assert "Replay dead letters (2)" in html


def test_secret_is_in_no_operations_page(ops_client, busy):
    alpha, _ = busy
    Delivery.objects.filter(target=alpha).update(
        last_error=f"boom {SECRET}", request_excerpt=f"key={SECRET}", response_excerpt=SECRET
    )
    SyncRun.objects.create(target=alpha, kind="pull", status="done")
    pages = [
        reverse("operations"),
        reverse("operations-deliveries"),
        reverse("operations-target", args=[alpha.pk]),
        *[reverse("operations-delivery", args=[d.pk]) for d in Delivery.objects.filter(target=alpha)],
    ]
    for url in pages:
        response = ops_client.get(url)
        assert response.status_code == 200
        assert SECRET not in response.content.decode(), url
