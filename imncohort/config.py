"""The one configuration model, loaded from ``config/default.yaml`` plus a user file.

A user file overrides only the keys it sets (nested mappings are merged key by
key; lists and scalars are replaced). Any unknown key or bad value raises
:class:`~imncohort.errors.ConfigError` naming the key, the value and what is
allowed. The environment is read by :mod:`imncohort.envvars` (re-exported here).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from imncohort.envvars import (  # noqa: F401  (re-exported: the names callers import)
    FAULT_ENV,
    LAUNCHER_ENV,
    PREFECT_HOME_ENV,
    SECRET_ENV,
    fault_from_env,
    launcher_allowed_by_env,
    prefect_home,
    secret_from_env,
)
from imncohort.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from exc
    return patterns


class Names(_Section):
    node: list[str] = Field(min_length=1)
    vessel: list[str] = Field(min_length=1)
    ctv: list[str]
    rib: str
    sternum: list[str]
    cartilage: list[str]
    left_suffix: str
    right_suffix: str

    @field_validator("node", "vessel", "ctv", "sternum", "cartilage")
    @classmethod
    def _regex_list(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @field_validator("rib", "left_suffix", "right_suffix")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _check_regexes([value])[0]


class Nodes(_Section):
    min_short_axis_mm: float = Field(ge=0, le=100)
    imv_extrapolation_limit_mm: float = Field(ge=0, le=200)
    growth_min_long_axis_mm: float = Field(ge=0, le=100)
    max_slice_gap_factor: float = Field(ge=1, le=100)
    min_node_voxels: int = Field(ge=1, le=1_000_000)
    min_node_volume_ml: float = Field(ge=0, le=100)
    # sternal_invasion: share of the node's rasterisation inside the sternum above this.
    sternal_invasion_min_share: float = Field(default=0.0, ge=0, lt=1)
    # A rib's level is the mean z of its points within this distance of its most medial point.
    rib_medial_window_mm: float = Field(default=10.0, ge=0, le=100)
    # A costal-cartilage piece joins the rib whose medial end is nearest within this distance.
    cartilage_max_gap_mm: float = Field(default=15.0, ge=0, le=100)


class Margins(_Section):
    medial_lateral_mm: list[float] = Field(min_length=1)
    dorsal_ventral_mm: list[float] = Field(min_length=1)
    guideline_mm: float = Field(ge=0, le=50)
    targets_percent: list[float] = Field(min_length=1)

    @field_validator("medial_lateral_mm", "dorsal_ventral_mm")
    @classmethod
    def _sorted_non_negative(cls, value: list[float]) -> list[float]:
        if any(v < 0 for v in value):
            raise ValueError("margins must be >= 0 mm")
        if list(value) != sorted(set(value)):
            raise ValueError("margins must be distinct and in increasing order")
        return value

    @field_validator("targets_percent")
    @classmethod
    def _percent(cls, value: list[float]) -> list[float]:
        if any(not 0 < v <= 100 for v in value):
            raise ValueError("each target must be a percentage in (0, 100]")
        return value


class ReportColumns(_Section):
    patient_id: str
    accession: str
    study_uid: str
    modality: str
    study_date: str
    text: str


class Reports(_Section):
    tables: list[str]
    columns: ReportColumns
    lexicon: Path | None = None
    fallback_encodings: list[str] = Field(min_length=1)

    @field_validator("fallback_encodings")
    @classmethod
    def _codecs(cls, value: list[str]) -> list[str]:
        import codecs

        for name in value:
            try:
                codecs.lookup(name)
            except LookupError as exc:
                raise ValueError(f"{name!r} is not a text encoding Python knows") from exc
        return value


class Clinical(_Section):
    path: Path | None = None
    glob: str


class Index(_Section):
    chunk_size: int = Field(ge=1, le=100_000)
    progress: Literal["auto", "always", "never"]


class Dask(_Section):
    workers: int = Field(ge=1, le=256)
    threads_per_worker: int = Field(ge=1, le=64)


_CRON_FIELD = re.compile(r"^[\dA-Za-z*/,\-?#]+$")
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class Schedule(_Section):
    cron: str
    timezone: str
    deployment_name: str = Field(min_length=1)
    export: Path | None = None
    out: Path | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if value.strip().lower() in CRON_ALIASES:
            return value
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(
                "must be a 5-field cron expression such as '0 2 * * *' or '30 1 * * MON-FRI', "
                f"or one of {', '.join(CRON_ALIASES)}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in _iana_zones():
            raise ValueError("must be an IANA time zone such as 'UTC' or 'Europe/Berlin'")
        return value


@functools.cache
def _iana_zones() -> frozenset[str]:
    """The IANA time zones installed, read once per process.

    ``zoneinfo.available_timezones`` reads about 600 files (5-15 ms), and a run validates
    its configuration several times.
    """
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


class Qc(_Section):
    window_center_hu: float
    window_width_hu: float = Field(gt=0)
    crop_mm: float = Field(gt=0, le=500)
    margins_mm: list[float]


class Prefect(_Section):
    """How runs reach a Prefect API and which task runner small jobs use."""

    server: Literal["reuse", "embedded"]
    idle_minutes: float = Field(gt=0, le=7 * 24 * 60)
    port: int = Field(ge=0, le=65535)
    local_below_files: int = Field(ge=0)
    dashboard: bool
    launcher: bool = True  # a warm launcher beside the shared server serves stage commands


class History(_Section):
    keep: int = Field(ge=1, le=10_000)


class Notifications(_Section):
    """Prefect notification block used when an audit fails or finds new candidates."""

    webhook_url: str | None = None
    block: str | None = None
    on_failure: bool
    on_new_candidates: bool

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value


class Tables(_Section):
    # One CT per patient (CONTRACT section 4); see imncohort.tables.selection.
    study_selection: Literal["most_evident", "earliest", "latest", "all"] = "most_evident"


class Review(_Section):
    #: Folder of completed review workbooks/CSVs; relative paths are relative to OUT.
    returned: Path | None = None


class Config(_Section):
    """The resolved configuration of one run."""

    names: Names
    nodes: Nodes
    margins: Margins
    reports: Reports
    clinical: Clinical
    index: Index
    dask: Dask
    schedule: Schedule
    qc: Qc
    prefect: Prefect
    history: History
    notifications: Notifications
    tables: Tables = Tables()
    review: Review = Review()


def default_config_text() -> str:
    """Return the text of the packaged ``default.yaml``."""
    return resources.files("imncohort._config").joinpath("default.yaml").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def _default_raw() -> dict[str, Any]:
    """The packaged defaults, parsed once per process (with libyaml when PyYAML has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw: dict[str, Any] = yaml.load(default_config_text(), Loader=loader)
    return raw


def default_lexicon_path() -> Path:
    """Return the path of the packaged ``lexicon.yaml``."""
    return Path(str(resources.files("imncohort._config").joinpath("lexicon.yaml")))


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        parent: Any = raw
        for part in error["loc"][:-1]:
            parent = parent.get(part, {}) if isinstance(parent, Mapping) else {}
        allowed = ""
        section = _section_fields(error["loc"][:-1])
        if section:
            allowed = f"; allowed keys here: {', '.join(section)}"
        return f"config key {key!r} is not known{allowed}"
    value = error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"config key {key!r} has value {value!r}: {message}"


def _section_fields(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Config
    for part in loc:
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = field.annotation
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def parse_config(raw: Mapping[str, Any]) -> Config:
    """Validate a merged mapping into a :class:`Config`.

    Raises
    ------
    ConfigError
        With one line per bad key: the key, the value and what is allowed.
    """
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(err, raw) for err in exc.errors()]
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None


def load_config(path: Path | str | None = None) -> Config:
    """Load the default configuration, overridden by the YAML file at ``path``.

    Parameters
    ----------
    path
        A user YAML file setting any subset of the keys of ``config/default.yaml``.
    """
    raw = copy.deepcopy(_default_raw())
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read config file '{path}': {exc.strerror}; pass an existing YAML file"
            ) from None
        try:
            user = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file '{path}' is not valid YAML: {exc}") from None
        if user is None:
            user = {}
        if not isinstance(user, Mapping):
            raise ConfigError(
                f"config file '{path}' must hold a mapping of keys, got {type(user).__name__}"
            )
        raw = _merge(raw, user)
    return parse_config(raw)


def config_as_dict(config: Config) -> dict[str, Any]:
    """Return the configuration as plain JSON-able data (for ``run.json``)."""
    return config.model_dump(mode="json")
