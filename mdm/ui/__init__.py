"""The steward web UI: server-rendered pages (htmx for in-place actions; every flow also works without JavaScript)."""
