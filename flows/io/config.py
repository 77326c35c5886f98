"""Read settings overrides from a TOML file."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

from flows.core.errors import ConfigError
from flows.core.settings import Settings, settings_from_dict

# Overrides `[validation] invariants` ("raise" or "repair"): tests/conftest.py sets "raise", so
# every run of the test suite, CLI subprocesses included, fails on a broken pipeline invariant.
INVARIANTS_ENV = "NEWSDQ_INVARIANTS"


def load_settings(path: Path | None) -> Settings:
    """Load settings from a TOML file, or the defaults when `path` is None.

    The environment variable NEWSDQ_INVARIANTS, when set, overrides `[validation] invariants`.
    """
    settings = _from_file(path)
    mode = os.environ.get(INVARIANTS_ENV)
    if not mode:
        return settings
    try:
        validation = dataclasses.replace(settings.validation, invariants=mode)
    except ConfigError as exc:
        raise ConfigError(f"{INVARIANTS_ENV}={mode}: {exc}") from exc
    return dataclasses.replace(settings, validation=validation)


def _from_file(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config path is a folder, not a file: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return settings_from_dict(data)
