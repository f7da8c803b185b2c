"""Prefect flows of imncohort: thin wrappers over the ``imncohort`` library.

Import :mod:`imncohort_flows.runtime` (done here) before Prefect so that the embedded API
gets its home directory and telemetry settings.
"""

from .runtime import configure_prefect_environment

configure_prefect_environment()
