"""The exception family of imncohort.

Every message quotes the input, shows the bad value and says what to do.
"""


class ImnCohortError(Exception):
    """Root of all errors raised on purpose by imncohort."""


class ConfigError(ImnCohortError):
    """A configuration file or value is invalid."""


class ExportError(ImnCohortError):
    """The export directory is missing or unreadable."""


class OutputError(ImnCohortError):
    """The output directory cannot be written."""


class SecretError(OutputError):
    """The pseudonymisation secret is missing or too short to keep the keys unguessable."""


class LockedError(OutputError):
    """Another run is writing to the same output directory."""


class InputError(ImnCohortError):
    """One input file is unusable; the stage records it in ``errors.csv`` and goes on."""


class StageOrderError(ImnCohortError):
    """A stage needs the output of an earlier stage that has not run."""
