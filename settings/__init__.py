"""The installation's settings: where its files live, whether it runs in production, its secrets, and whole
numbers from the environment. At the bottom of the layers (docs/architecture.md): every package may ask it, it
imports no other perispiegel package.

Each package names its own `PERISPIEGEL_*` variables and defaults next to the code they steer (the engine's
small-number rules in `queries/config.py`, login in `auth/server.py`, the database URL in `tables/database.py`);
this module only reads them, the same way for all.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_FOLDER = PROJECT_ROOT / "data"  # the embedded database, generated keys, demo deliveries
REFERENCE_FOLDER = DATA_FOLDER / "reference"  # shipped reference files: organisation register, postcodes, Hoftiezer
ENVIRONMENT_VARIABLE = "PERISPIEGEL_ENV"
#: The delivery folder: where deliveries received over the API are stored (below `received/`), where the demo
#: deliveries are generated, and what `perispiegel load` refreshes from when given no folder.
DELIVERIES_FOLDER_VARIABLE = "PERISPIEGEL_DELIVERIES_DIR"
LOGGER = logging.getLogger(__name__)


def is_production() -> bool:
    """Whether `PERISPIEGEL_ENV=production`: no demo accounts, no generated keys."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "production"


def deliveries_folder() -> Path:
    """`PERISPIEGEL_DELIVERIES_DIR`, or data/deliveries when it is unset."""
    configured = os.environ.get(DELIVERIES_FOLDER_VARIABLE, "").strip()
    return Path(configured) if configured else DATA_FOLDER / "deliveries"


def installation_secret(variable: str, key_file: Path) -> str:
    """The secret in environment variable `variable`; without it, one generated once into `key_file`
    (mode 0600, created exclusively so that concurrent workers agree) and read from there afterwards.
    In production the variable must be set: a generated key would differ between servers."""
    configured = os.environ.get(variable, "").strip()
    if configured:
        return configured
    if is_production():
        raise RuntimeError(f"{variable} must be set when {ENVIRONMENT_VARIABLE}=production")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        LOGGER.warning("%s is not set: generated a key for this installation in %s.", variable, key_file)
    return key_file.read_text(encoding="utf-8").strip()


def whole_number_from_environment(variable: str, default: int, minimum: int | None = None) -> int:
    """The whole number in environment variable `variable`, `default` when it is unset or empty; a clear error
    naming the variable when it holds anything else, or a number below `minimum`."""
    raw = os.environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        number = int(raw)
    except ValueError as error:
        raise ValueError(f"{variable} must be a whole number, got {raw!r}") from error
    if minimum is not None and number < minimum:
        raise ValueError(f"{variable} must be at least {minimum}, got {number}")
    return number
