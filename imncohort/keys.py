"""Pseudonymous keys: ``patient_key`` and ``study_key``.

``key = first 16 hex digits of HMAC-SHA256(secret, value)``. The secret comes
from ``IMNCOHORT_SECRET`` (read by :mod:`imncohort.config`), else it is created
once in ``OUT/restricted/secret`` with mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from imncohort.errors import OutputError

KEY_HEX_DIGITS = 16


def pseudonym(secret: bytes, value: str) -> str:
    """Return the 16-hex-digit HMAC-SHA256 pseudonym of ``value``."""
    digest = hmac.new(secret, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:KEY_HEX_DIGITS]


def restricted_dir(out: Path) -> Path:
    """Return ``OUT/restricted`` (created with mode 0700)."""
    path = Path(out) / "restricted"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def load_or_create_secret(out: Path, env_secret: bytes | None = None) -> bytes:
    """Return the pseudonymisation secret for the run writing to ``out``.

    Parameters
    ----------
    out
        The output directory; the secret file is ``out/restricted/secret``.
    env_secret
        The secret from the environment, which wins when given.
    """
    if env_secret:
        return env_secret
    path = restricted_dir(out) / "secret"
    if path.exists():
        return path.read_bytes().strip()
    value = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    except OSError as exc:
        raise OutputError(f"cannot create secret file '{path}': {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value
