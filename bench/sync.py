"""Benchmark: syndication to the Odoo test server (issue 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm_bench python -m bench.sync      # PostgreSQL (the target)
    BENCH_SYNC_RECORDS=2000 BENCH_SYNC_SECONDS=30 python -m bench.sync                 # smaller / shorter

In a scratch database:
1. Throughput: ``BENCH_SYNC_RECORDS`` (10,000) item changes made through the item service (each writes its outbox
   event in its own transaction), then delivered to an Odoo 17 test server (real HTTP on loopback, a separate
   process) by the engine: batched (200 per ``load``) and, for comparison, one call per record.
2. Latency under steady load: a real Celery worker (Redis broker) and change requests approved at a steady rate
   (``BENCH_SYNC_RATE`` per second for ``BENCH_SYNC_SECONDS``); approval-to-delivered is the time from the change's
   commit (the outbox event) to the delivery's acknowledgement by Odoo.
Prints Markdown.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import machine, percentiles, scratch_database, setup_django

RECORDS = int(os.environ.get("BENCH_SYNC_RECORDS", 10_000))
RATE = float(os.environ.get("BENCH_SYNC_RATE", 10))
SECONDS = float(os.environ.get("BENCH_SYNC_SECONDS", 60))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent


def say(lines: list[str], line: str) -> None:
    lines.append(line)
    print(line, file=sys.stderr, flush=True)  # progress while the run goes on


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_odoo(version: int = 17):
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.odoo_server", "--version", str(version), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


def make_target(name, url, batch_size):
    from sync.models import Subscription, Target

    target = Target.objects.create(
        name=name,
        kind="odoo",
        url=url,
        database="odoo",
        login="mdm",
        secret="test-key",  # noqa: S106 - the Odoo test server's key
        batch_size=batch_size,
    )
    for entity_type in ("unit", "item"):
        Subscription.objects.create(target=target, entity_type=entity_type)
    return target


def drain(target) -> float:
    from sync import engine
    from sync.models import Delivery

    start = time.perf_counter()
    while True:
        engine.dispatch()
        engine.deliver_target(target, budget_seconds=3600)
        if not engine.due(target).exists():
            break
    elapsed = time.perf_counter() - start
    left = Delivery.objects.filter(target=target).exclude(status__in=["delivered"]).count()
    assert left == 0, f"{left} deliveries not delivered"
    return elapsed


def throughput(lines: list[str]) -> None:
    from items.services import item_create
    from sync.models import Delivery, OutboxEvent, Subscription, Target
    from uom.services import unit_create

    unit_create(code="EA", name="Each", dimension="count", actor=None, reason="bench")
    start = time.perf_counter()
    for n in range(RECORDS):
        item_create(
            data={
                "description": f"Exam glove nitrile powder-free size {n}",
                "manufacturer_name": "BENCH MEDICAL",
                "manufacturer_part_number": f"GLV-{n:06d}",
                "item_type": "med_surg",
                "unspsc": "42132203",
                "base_unit": "EA",
                "packaging": [{"unit": "EA", "quantity": 1, "gtin": ""}],
            },
            actor=None,
            reason="bench",
        )
    applied = time.perf_counter() - start
    events = OutboxEvent.objects.filter(entity_type="item").count()
    say(
        lines,
        f"- {RECORDS:,} item changes through the item service, each with its outbox event: {applied:.1f} s "
        f"({RECORDS / applied:,.0f}/s); events written: {events:,}",
    )
    for label, batch_size in (("batched (200 per load)", 200), ("one call per record", 1)):
        odoo, url = start_odoo()
        try:
            OutboxEvent.objects.update(dispatched_at=None)
            target = make_target(f"Odoo {label}", url, batch_size)
            elapsed = drain(target)
            delivered = Delivery.objects.filter(target=target, status="delivered", entity_type="item").count()
            say(
                lines,
                f"- delivered {delivered:,} items to Odoo 17, {label}: {elapsed:.1f} s ({delivered / elapsed:,.0f}/s)",
            )
            Subscription.objects.filter(target=target).delete()
            Target.objects.filter(pk=target.pk).update(enabled=False)
        finally:
            odoo.send_signal(signal.SIGTERM)
            odoo.wait(timeout=10)


def start_worker(database_url: str, log_path: Path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": "bench-sync",
        "DEBUG": "1",
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mdm",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "-Q",
            "bench-sync",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log_path, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def start_beat(database_url: str, log_path: Path):
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "celery", "-A", "mdm", "beat", "--loglevel=WARNING", "--schedule=/tmp/bench-beat"],
        cwd=ROOT,
        env=env,
        stdout=open(log_path, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def latency(lines: list[str], database_url: str) -> None:
    from django.conf import settings
    from django.contrib.auth.models import Group, User

    from items.models import Item
    from mdm.models import ApprovalScope
    from mdm.services.changes import change_request_approve, change_request_create
    from sync.models import Delivery, OutboxEvent

    settings.MDM_SYNC_KICK = True  # from here on every commit nudges the worker, as in production
    steward = User.objects.create_user("bench.steward")
    steward.groups.add(Group.objects.get(name="steward"))
    approver = User.objects.create_user("bench.approver")
    approver.groups.add(Group.objects.get(name="approver"))
    from guardian.shortcuts import assign_perm

    assign_perm("mdm.approve_in_scope", approver, ApprovalScope.objects.create(name="All records"))
    odoo, url = start_odoo()
    target = make_target("Odoo steady", url, 200)
    log_path = Path("/tmp/bench-sync-worker.log")  # noqa: S108 - a bench log
    worker = start_worker(database_url, log_path)
    beat = start_beat(database_url, Path("/tmp/bench-sync-beat.log"))  # noqa: S108 - the production schedule (5 s)
    try:
        time.sleep(3)
        items = list(Item.objects.order_by("pk").values_list("pk", flat=True)[:2000])
        # the target's first load: every item once (not timed here)
        from sync.services import target_backfill

        target_backfill(target, actor=None)
        deadline = time.monotonic() + 600
        while Delivery.objects.filter(target=target).exclude(status__in=["delivered", "superseded"]).exists():
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        first = Delivery.objects.order_by("-id").values_list("id", flat=True).first()
        interval = 1.0 / RATE
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < SECONDS:
            pk = items[n % len(items)]
            cr = change_request_create(
                entity_type="item",
                kind="update",
                object_id=pk,
                actor=steward,
                reason="bench",
                changes={"short_name": f"GLV {pk} #{n}"},
            )
            change_request_approve(cr, actor=approver)
            n += 1
            sleep = start + n * interval - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
        deadline = time.monotonic() + 120
        new = Delivery.objects.filter(target=target, pk__gt=first)
        undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True)
        while new.exclude(status__in=["delivered", "superseded"]).exists() or undispatched.exists():
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        samples = [
            (delivered - created).total_seconds() * 1000
            for delivered, created in new.filter(status="delivered").values_list("delivered_at", "event__created_at")
        ]
        stats = percentiles(samples)
        say(
            lines,
            f"- steady load, {n} approvals at {RATE:g}/s for {SECONDS:g} s, real Celery worker (prefork, 2 processes, "
            f"Redis, beat every 5 s): approval-to-delivered p50 {stats['p50'] / 1000:.2f} s, p95 {stats['p95'] / 1000:.2f} s, "
            f"max {stats['max'] / 1000:.2f} s over {len(samples)} deliveries "
            f"({new.filter(status='superseded').count()} superseded by a newer version of the same item)",
        )
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=30)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        odoo.send_signal(signal.SIGTERM)
        odoo.wait(timeout=10)


def main() -> int:
    # This process only sends to the worker's queue on Redis; the throughput part runs the engine in-process.
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = "bench-sync"
    os.environ["MDM_SYNC_KICK"] = "0"
    setup_django()
    import logging

    logging.disable(logging.WARNING)
    lines: list[str] = []
    with scratch_database() as connection:
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            database_url = f"sqlite:///{db['NAME']}"
        else:
            database_url = f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
        throughput(lines)
        latency(lines, database_url)
        print(f"## Syndication to Odoo (issue 6)\n\nMachine: {machine()}\n")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
