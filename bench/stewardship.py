"""Benchmark: change-request lists with approval scopes at 10k requests (issue 5: lists must not slow down).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mdm python -m bench.stewardship    # PostgreSQL (the target)
    BENCH_CHANGE_REQUESTS=50000 python -m bench.stewardship                          # more rows

Builds a scratch database (created and dropped) with ``BENCH_CHANGE_REQUESTS`` submitted change requests
(items across four UNSPSC segments, and suppliers) and four approvers: a superuser, one with the
all-records scope, one scoped to UNSPSC segment 42, and one whose group holds 200 supplier scopes (django-guardian
object permissions). Measures, per approver, page 1 of "waiting for me" through the selector, its count (the
dashboard), the API list and the steward UI page, with the number of SQL queries of each. Prints Markdown.
"""

import datetime as dt
import logging
import os
import random
import sys

from bench.harness import machine, scratch_database, setup_django, timed

REQUESTS = int(os.environ.get("BENCH_CHANGE_REQUESTS", 10_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 30))
SEGMENTS = ("42", "53", "41", "51")


def seed():
    from django.contrib.auth.models import Group, User
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from mdm.models import ApprovalScope, ChangeRequest

    rng = random.Random(5)
    requester = User.objects.create_user("bench.steward")
    requester.groups.add(Group.objects.get(name="steward"))
    now = timezone.now()
    rows = []
    for n in range(REQUESTS):
        if n % 5 == 4:
            entity, category, supplier = "supplier", "", rng.randrange(1, 2_000)
        else:
            entity, category, supplier = "item", rng.choice(SEGMENTS) + f"{rng.randrange(10**6):06d}", None
        rows.append(
            ChangeRequest(
                entity_type=entity,
                object_id=n + 1,
                kind="update",
                status="submitted",
                title=f"bench record {n}",
                changes={"short_name": f"name {n}"},
                diff=[
                    {"field": "short_name", "label": "Short name", "old": "", "new": f"name {n}", "sensitive": False}
                ],
                base_version=1,
                reason="bench",
                requested_by=requester,
                scope_category=category,
                scope_supplier_id=supplier,
                submitted_at=now - dt.timedelta(minutes=n),
            )
        )
    ChangeRequest.objects.bulk_create(rows, batch_size=5_000)

    approvers = {}
    superuser = User.objects.create_superuser("bench.admin", password=None)
    approvers["superuser (no scope check)"] = superuser
    group = Group.objects.get(name="approver")
    everything = ApprovalScope.objects.create(name="All records")
    devices = ApprovalScope.objects.create(name="Devices", unspsc_prefix="42", entity_type="item")
    supplier_group = Group.objects.create(name="supplier approvers")
    supplier_group.permissions.set(group.permissions.all())
    for supplier_id in range(1, 201):
        scope = ApprovalScope.objects.create(name=f"Supplier {supplier_id}", supplier_id=supplier_id)
        assign_perm("mdm.approve_in_scope", supplier_group, scope)
    for name, scope in (("all-records scope", everything), ("UNSPSC 42 scope", devices)):
        user = User.objects.create_user(f"bench.{len(approvers)}")
        user.groups.add(group)
        assign_perm("mdm.approve_in_scope", user, scope)
        approvers[name] = user
    user = User.objects.create_user("bench.suppliers")
    user.groups.add(supplier_group)
    approvers["200 supplier scopes (via a group)"] = user
    return approvers


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def measure(approvers):
    from django.test import Client

    from mdm.selectors import change_requests_awaiting

    rows = []
    for name, user in approvers.items():
        fresh = type(user).objects.get(pk=user.pk)  # no permission cache carried between measurements

        def page(user=fresh):
            type(user).objects.get(pk=user.pk)
            return list(change_requests_awaiting(type(user).objects.get(pk=user.pk)).order_by("-submitted_at")[:25])

        def count(user=fresh):
            return change_requests_awaiting(type(user).objects.get(pk=user.pk)).count()

        client = Client()
        client.force_login(fresh)

        def api(client=client):
            response = client.get("/api/v1/change-requests/?awaiting=me")
            assert response.status_code == 200, response.status_code

        def ui(client=client):
            response = client.get("/changes/?tab=awaiting")
            assert response.status_code == 200, response.status_code

        waiting = count()
        row = {"approver": name, "waiting": waiting}
        for label, fn in (("selector page", page), ("count", count), ("API page", api), ("UI page", ui)):
            fn()  # warm
            row[label] = (timed(fn, REPEAT), _queries(fn))
        rows.append(row)
    return rows


def report(rows) -> str:
    lines = [
        f"Machine: {machine()}; {dt.date.today().isoformat()}; {REQUESTS:,} submitted change requests; "
        f"{REPEAT} runs each, ms (p50 / p95) and SQL queries per call.",
        "",
        "| approver | waiting for them | selector page 1 | count | API list | UI list |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [
            f"{row[label][0]['p50']} / {row[label][0]['p95']} ({row[label][1]} q)"
            for label in ("selector page", "count", "API page", "UI page")
        ]
        lines.append(f"| {row['approver']} | {row['waiting']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    setup_django()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    with scratch_database():
        approvers = seed()
        text = report(measure(approvers))
    print("## Change-request lists with approval scopes (issue 5)\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
