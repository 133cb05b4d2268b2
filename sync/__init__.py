"""Inbound connectors and outbound syndication (outbox, targets, deliveries, Odoo connector)."""
