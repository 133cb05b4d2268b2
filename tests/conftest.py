"""The cast: a steward, an approver, a viewer, an integration account and an outsider with no role."""

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from mdm import roles
from mdm.models import SourceSystem

# Golden-record fixtures shared by the syndication tests (units, make_item, supplier, contract, make_price...).
pytest_plugins = ["tests.sync.records"]


def _user(username, role=None, **extra):
    user = User.objects.create_user(username=username, password="correct horse battery", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def steward(db):
    return _user("sam.steward", roles.STEWARD)


def global_scope():
    from mdm.models import ApprovalScope

    scope, _ = ApprovalScope.objects.get_or_create(name="All records")
    return scope


@pytest.fixture
def approver(db):
    """An approver answering for every record (an ApprovalScope without limits, given with django-guardian)."""
    from guardian.shortcuts import assign_perm

    user = _user("alex.approver", roles.APPROVER)
    assign_perm("mdm.approve_in_scope", user, global_scope())
    return user


@pytest.fixture
def viewer(db):
    return _user("vic.viewer", roles.VIEWER)


@pytest.fixture
def integration(db):
    return _user("svc.odoo", roles.INTEGRATION)


@pytest.fixture
def outsider(db):
    return _user("olly.outsider")


@pytest.fixture
def api(steward):
    """An API client logged in (session) as the steward."""
    client = APIClient()
    client.force_authenticate(steward)
    return client


@pytest.fixture
def token_api(integration):
    """An API client using an API token of the integration account (every scope that role uses), as a service
    account would. ``token_api.token`` is the ``ApiToken``."""
    from mdm.tokens import issue_token

    client = APIClient()
    token, secret = issue_token(integration, name="test connector", scopes=["read", "ingest", "match", "changes"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token = token
    return client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with empty API rate-limit counters (the cache outlives a test; user ids are reused)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def odoo(db):
    return SourceSystem.objects.create(name="odoo-prod", kind="odoo", trust_rank=1)


@pytest.fixture
def catalog(db):
    return SourceSystem.objects.create(name="distributor-catalog", kind="file", trust_rank=20)


@pytest.fixture
def gpo(db):
    return SourceSystem.objects.create(name="gpo-prices", kind="gpo", trust_rank=10)
