"""Firehose delivery: configuration, buffers, object names, Redshift loads (used by planes/firehose_delivery.py)."""
