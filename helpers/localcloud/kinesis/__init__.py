"""Kinesis event source mappings: configuration, shard pollers, batches (used by planes/kinesis_mappings.py)."""
