"""Demo data: a shipped sample of real FDA GUDID devices and a deterministic generator of three source feeds.

``build_sample`` makes ``mdm/data/gudid_demo_sample.csv`` from the full GUDID extract (run once, by a
maintainer); ``generator`` turns the shipped sample into source payloads; ``manage.py demo_load`` ingests
them through the ordinary ingest service. Nothing here imports a domain app.
"""
