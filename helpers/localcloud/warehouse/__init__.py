"""The local cloud's Redshift warehouse: Redshift SQL run on embedded DuckDB databases.

The planes ``redshift_serverless`` (namespaces, workgroups) and ``redshift_data`` (the Data API)
are the front doors; ``engine`` holds the databases and runs statements, and documents the seam
for the statements the translator hands to a special handler (COPY, CREATE USER, GRANT...).
See docs/warehouse.md for what is supported.
"""
