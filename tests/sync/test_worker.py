"""Real Celery workers on Redis: a worker killed with SIGKILL mid-batch loses nothing and doubles nothing."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from sync.models import Delivery, KeyMap
from tests.mdm.test_tasks import REDIS_URL, _test_database_url
from tests.sync.records import odoo_target

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def start_worker(queue: str, log_path, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DEBUG": "1",
        "MDM_SYNC_KICK": "0",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mdm",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=open(log_path, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def pump(queue: str) -> None:
    from mdm.celery import app
    from sync.tasks import pump as pump_task

    with app.connection_for_write(REDIS_URL) as conn:
        pump_task.apply_async(queue=queue, connection=conn)


def wait_for(condition, *, timeout, worker, log_path, every=None, what=""):
    deadline = time.monotonic() + timeout
    last = 0.0
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, log_path.read_text()
        if every and time.monotonic() - last > 2:
            every()  # the scheduler's pump, every 2 s
            last = time.monotonic()
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n" + log_path.read_text()[-4000:])


def test_worker_killed_mid_batch_loses_nothing(odoo_server, make_item, tmp_path):
    srv = odoo_server
    target = odoo_target(srv, entity_types=("item",), batch_size=20)
    items = [make_item(f"Exam glove nitrile {n}", part=f"GLV-{n:03d}") for n in range(100)]
    queue = f"test-sync-{uuid.uuid4().hex[:8]}"
    srv.inject("slow", model="product.template", method="load", delay=1.0, times=None)
    first_log = tmp_path / "worker1.log"
    first = start_worker(queue, first_log, MDM_SYNC_LEASE_SECONDS="4")
    try:
        pump(queue)

        def mid_batch():
            sending = Delivery.objects.filter(target=target, entity_type="item", status="sending").exists()
            return sending and Delivery.objects.filter(target=target, entity_type="item", status="delivered").exists()

        wait_for(mid_batch, timeout=90, worker=first, log_path=first_log, what="a batch in flight")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    in_flight = Delivery.objects.filter(target=target, status="sending").count()
    assert in_flight > 0
    srv.clear_faults()
    second_log = tmp_path / "worker2.log"
    second = start_worker(queue, second_log, MDM_SYNC_LEASE_SECONDS="4")
    try:
        wait_for(
            lambda: Delivery.objects.filter(target=target, status="delivered").count() == 101,
            timeout=120,
            worker=second,
            log_path=second_log,
            every=lambda: pump(queue),
            what="every delivery delivered after the restart",
        )
    finally:
        second.terminate()
        second.wait(timeout=20)
    products = srv.records("product.template")
    assert len(products) == 100
    assert sorted(p["name"] for p in products) == sorted(item.description for item in items)
    assert KeyMap.objects.filter(target=target, entity_type="item").count() == 100
    assert not Delivery.objects.filter(target=target).exclude(status="delivered").exists()
