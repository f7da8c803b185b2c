"""imncohort: internal mammary node cohort audit from a PACS export.

The package is a plain library (no orchestration); ``flows/`` wraps its stage
functions in Prefect flows that fan out on Dask.
"""

import logging

__version__ = "0.1.0"

# The library's one logger ("imncohort" and its children, named by module); the library
# never configures logging itself (the command line and the flows do).
logging.getLogger("imncohort").addHandler(logging.NullHandler())

__all__ = ["__version__"]
