"""Prefect flows of imncohort: thin wrappers over the ``imncohort`` library.

Import :mod:`imncohort_flows.environment` (done here) before Prefect so that the embedded
API gets its home directory and telemetry settings.
"""

from .environment import configure_prefect_environment

configure_prefect_environment()
