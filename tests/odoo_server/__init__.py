"""A protocol-faithful Odoo 16-19 test server: real HTTP on loopback, XML-RPC, JSON-RPC and (19) JSON-2.

    from tests.odoo_server import OdooTestServer
    with OdooTestServer(version=19) as srv:
        ...  # srv.url, srv.db, srv.login, srv.api_key; srv.inject(...), srv.records(...), srv.calls

Modules: ``server`` (HTTP, faults, direct helpers), ``rpc`` (wire formats and error envelopes), ``database``
(services common/object, the public model methods, one transaction per call), ``orm`` (create/write/read/
search/unlink with Odoo's errors), ``importer`` (``load``), ``domain`` (domains and ordering), ``models`` and
``products`` (fields per version), ``seed`` (a fresh database's data), ``store`` (rows, external ids, indexes,
undo journal). Each module's docstring says what it was checked against in Odoo's source (odoo/odoo 16.0-19.0)
and /work/shared/ODOO.md, which wins where they differ.
"""

from .server import FAULTS, OdooTestServer

__all__ = ["FAULTS", "OdooTestServer"]
