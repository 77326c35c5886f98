"""Read settings overrides from a TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from flows.core.errors import ConfigError
from flows.core.settings import Settings, settings_from_dict


def load_settings(path: Path | None) -> Settings:
    """Load settings from a TOML file, or the defaults when `path` is None."""
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
