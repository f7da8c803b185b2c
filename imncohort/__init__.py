"""imncohort: internal mammary node cohort audit from a PACS export.

The package is a plain library (no orchestration); ``flows/`` wraps its stage
functions in Prefect flows that fan out on Dask.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
