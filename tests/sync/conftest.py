"""The Odoo test server as a fixture: a fresh database and a real HTTP server on loopback for each test.

def test_x(odoo_server): ...                                                  # Odoo 17
@pytest.mark.parametrize("odoo_server", [16, 17, 18, 19], indirect=True)
def test_y(odoo_server): ...                                                  # each version
"""

import pytest

from tests.odoo_server import OdooTestServer


@pytest.fixture
def odoo_server(request):
    """A started ``OdooTestServer`` (version ``request.param``, default 17), stopped after the test."""
    server = OdooTestServer(version=getattr(request, "param", 17))
    server.start()
    try:
        yield server
    finally:
        server.stop()
