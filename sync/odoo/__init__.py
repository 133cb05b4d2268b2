"""The Odoo connector: transports (XML-RPC, JSON-RPC, JSON-2), a client, per-version mappers and the adapter.

from sync.odoo.client import OdooClient, OdooError, OdooUnavailable
from sync.odoo.adapter import OdooAdapter
from sync.odoo.mappers import mapper_for, compared_fields
"""
