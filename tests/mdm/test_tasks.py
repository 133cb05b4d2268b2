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


def _start_worker(broker_url: str, queue: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": broker_url, "DEBUG": "1"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mdm",
            "worker",
            "--pool=solo",
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
