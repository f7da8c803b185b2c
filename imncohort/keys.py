"""Pseudonymous keys: ``patient_key`` and ``study_key``.

``key = first 16 hex digits of HMAC-SHA256(secret, value)``. The secret comes
from ``IMNCOHORT_SECRET`` (read by :mod:`imncohort.config`), else it is created
once in ``OUT/restricted/secret`` with mode 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from imncohort.errors import OutputError, SecretError
from imncohort.layout import OutLayout

KEY_HEX_DIGITS = 16
MIN_FILE_SECRET_BYTES = 32  # imncohort writes 64 hex digits
MIN_ENV_SECRET_BYTES = 16


def pseudonym(secret: bytes, value: str) -> str:
    """Return the 16-hex-digit HMAC-SHA256 pseudonym of ``value``."""
    digest = hmac.new(secret, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:KEY_HEX_DIGITS]


def restricted_dir(out: Path) -> Path:
    """Return ``OUT/restricted`` (created with mode 0700)."""
    path = OutLayout(out).restricted
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def check_secret(secret: bytes, source: str, minimum: int) -> bytes:
    """Return ``secret`` when it has at least ``minimum`` bytes; else raise :class:`SecretError`.

    A short secret makes every pseudonym recomputable by anyone who knows the IDs.
    """
    if len(secret) >= minimum:
        return secret
    what = "is empty" if not secret else f"holds only {len(secret)} bytes"
    raise SecretError(
        f"{source} {what} (at least {minimum} needed), so the pseudonyms would be guessable; "
        + (
            "restore it from a backup, or delete OUT/restricted and the outputs made with it "
            "to start over with new keys"
            if source.startswith("secret file")
            else f"set {minimum} or more random characters"
        )
    )


def _create_secret(path: Path) -> bytes:
    """Write a new random secret to ``path`` atomically (0600); another run's wins."""
    value = secrets.token_hex(32).encode("ascii")
    fd, tmp = tempfile.mkstemp(prefix=".secret.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces a secret another run created
        except FileExistsError:
            return path.read_bytes().strip()
    except OSError as exc:
        raise OutputError(f"cannot create secret file '{path}': {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return value


def load_or_create_secret(out: Path, env_secret: bytes | None = None) -> bytes:
    """Return the pseudonymisation secret for the run writing to ``out``.

    Parameters
    ----------
    out
        The output directory; the secret file is ``out/restricted/secret``.
    env_secret
        The secret from the environment, which wins when given.

    Raises
    ------
    SecretError
        When the secret file or ``env_secret`` is too short (an empty file left by a
        run that met a full disk, for one).
    """
    if env_secret is not None:
        return check_secret(env_secret, "IMNCOHORT_SECRET", MIN_ENV_SECRET_BYTES)
    restricted_dir(out)
    path = OutLayout(out).secret
    value = path.read_bytes().strip() if path.exists() else _create_secret(path)
    return check_secret(value, f"secret file '{path}'", MIN_FILE_SECRET_BYTES)
