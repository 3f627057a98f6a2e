"""AWS Glue in the local cloud: crawlers that infer tables from S3, and job runs that run scripts.

The planes are ``helpers.localcloud.planes.glue_crawlers`` and ``glue_jobs``; moto keeps the
definitions (crawlers, jobs, triggers, the Data Catalog) and these modules do the work moto does
not: classify S3 objects and infer their schema (``classify`` and the ``*_schema`` modules), group
them into tables and partitions (``table_layout``), write the catalog (``catalog_writer``), and run
job scripts in subprocesses (``job_process``).
"""
