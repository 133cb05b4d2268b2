"""A real Celery worker process imports a file: on Redis (production) and on the embedded file-system broker."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from mdm.models import IngestBatch, SourceRecord
from mdm.tasks import source_records_import_file_task

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _start_worker(broker_url: str, queue: str, log_path, pool: str = "solo") -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": broker_url, "DEBUG": "1"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mdm",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,  # noqa: SIM115
    )


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "filesystem"])
def test_worker_imports_a_file(broker, tmp_path, odoo):
    path = tmp_path / f"units-{broker}.csv"
    path.write_text("external_id,code,name,dimension\n1,EA,Each,count\n2,BX,Box,count\n3,CS,,count\n")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    broker_url = REDIS_URL if broker == "redis" else settings.CELERY_BROKER_URL
    if broker == "filesystem" and not broker_url.startswith("filesystem://"):
        broker_url = "filesystem://"
    worker = _start_worker(broker_url, queue, tmp_path / "worker.log")
    try:
        from mdm.celery import app

        with app.connection_for_write(broker_url) as conn:
            source_records_import_file_task.apply_async(args=[str(path), odoo.pk, "unit"], queue=queue, connection=conn)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if IngestBatch.objects.filter(filename=path.name, status="done").exists():
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.25)
        else:
            pytest.fail("the worker did not import the file in 60 s:\n" + (tmp_path / "worker.log").read_text())
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    batch = IngestBatch.objects.get(filename=path.name)
    assert (batch.stored, batch.rejected) == (2, 1)
    assert SourceRecord.objects.filter(system=odoo).count() == 2


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_prefork_worker_runs_a_batch_match(tmp_path, steward):
    """A batch match in a prefork worker child (a daemonic process, which may not fork the engine's workers)."""
    from mdm.models import MatchRun
    from mdm.tasks import match_run_task
    from suppliers.services import supplier_create

    for name in ("Medline Industries, LP", "MEDLINE INDUSTRIES LP", "Cardinal Health, Inc."):
        supplier_create(
            data={"legal_name": name, "duns": "025483210" if "edline" in name else ""}, actor=steward, reason="test"
        )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = _start_worker(REDIS_URL, queue, tmp_path / "worker.log", pool="prefork")
    try:
        from mdm.celery import app

        with app.connection_for_write(REDIS_URL) as conn:
            match_run_task.apply_async(args=["supplier", steward.pk, 2], queue=queue, connection=conn)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if MatchRun.objects.exclude(status="running").exists():
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.25)
        else:
            pytest.fail("the worker did not finish the match run in 90 s:\n" + (tmp_path / "worker.log").read_text())
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    run = MatchRun.objects.get()
    assert run.status == "done", run.error
    from mdm.models import MatchCandidate
    from suppliers.models import Supplier

    assert run.records == 3 and run.match_pairs + run.review_pairs == 1, run.__dict__
    pair = MatchCandidate.objects.get()
    names = set(
        Supplier.objects.filter(pk__in=[pair.left_golden_id, pair.right_golden_id]).values_list("legal_name", flat=True)
    )
    assert names == {"Medline Industries, LP", "MEDLINE INDUSTRIES LP"}


def test_no_engine_workers_inside_a_daemonic_process():
    import multiprocessing

    from mdm.services.matching import _workers

    assert _workers(2) == 2
    queue = multiprocessing.get_context("fork").SimpleQueue()
    child = multiprocessing.get_context("fork").Process(target=lambda: queue.put(_workers(2)), daemon=True)
    child.start()
    child.join(timeout=30)
    assert queue.get() == 1
