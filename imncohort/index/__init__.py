"""Index a PACS export: walk, classify, read headers into Parquet shards, build the tables.

- :mod:`~imncohort.index.walk`: one ``os.scandir`` walk (loops and unreadable dirs recorded).
- :mod:`~imncohort.index.reader`: one file -> DICOM instance, aux file or junk with a reason.
- :mod:`~imncohort.index.shards`: one chunk of files -> one shard (``index_chunk``).
- :mod:`~imncohort.index.tables`: series and study tables (pure DataFrame functions).
- :mod:`~imncohort.index.dicomdir`: DICOMDIR as a hint (entries pointing at missing files).
- :mod:`~imncohort.index.plan`: incremental planning (walk vs the manifest, chunks).
- :mod:`~imncohort.index.merge`: shards merged into the tables, the manifest, errors.
- :mod:`~imncohort.index.stage`: the stage entry (plan, read chunks, finalize).
"""
