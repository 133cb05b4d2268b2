"""Unit tests share one in-memory registry per process: start each test from what its database holds."""

import pytest

from uom.registry import registry_invalidate


@pytest.fixture(autouse=True)
def fresh_unit_registry():
    # Rows created by an earlier test were rolled back without a signal; make the registry look again.
    registry_invalidate()
    yield
    registry_invalidate()
