"""Settings read from files: `CREDWATCH_<NAME>_FILE` holds the path of the value.

Secrets are better mounted as files (Docker and Kubernetes secrets, systemd
credentials) than passed in the environment, which child processes inherit and
`/proc/<pid>/environ` shows. Every secret setting, and the database and MLflow
URLs (which may carry a password), can be given either way, not both: setting the
value and its file at once is refused as ambiguous. The file's content is taken
as it is, less trailing line breaks and spaces. Messages name the variable and
the path, never the content.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

logger = logging.getLogger(__name__)

PREFIX = "CREDWATCH_"
# Settings that are not SecretStr but may still hold a password.
EXTRA_FILE_SETTINGS = ("database_url", "mlflow_uri")


def file_settings(settings_cls: type[BaseSettings]) -> tuple[str, ...]:
    """The settings that may come from a file: every secret, and the URLs above."""
    names = [
        name for name, info in settings_cls.model_fields.items() if _is_secret(info)
    ]
    names.extend(
        name for name in EXTRA_FILE_SETTINGS if name in settings_cls.model_fields
    )
    return tuple(names)


def _is_secret(info: FieldInfo) -> bool:
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


class SecretFileSource(PydanticBaseSettingsSource):
    """Values of `CREDWATCH_<NAME>_FILE` files, for the settings that allow them."""

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        # Unused: `__call__` reads every file setting at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in file_settings(self.settings_cls):
            variable = f"{PREFIX}{name.upper()}"
            path = _environ(f"{variable}_FILE")
            if not path:
                continue
            if _environ(variable):
                raise ValueError(
                    f"both {variable} and {variable}_FILE are set: keep one of them"
                )
            values[name] = read_secret_file(Path(path), variable=f"{variable}_FILE")
        return values


def read_secret_file(path: Path, *, variable: str) -> str:
    """The value kept in `path`; errors name the variable and path only."""
    try:
        mode = path.stat().st_mode
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{variable}: no file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{variable}: cannot read {path}: {reason}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "%s: %s can be read by other users; make it readable by its owner only "
            "(chmod 600)",
            variable,
            path,
        )
    value = content.rstrip("\r\n \t")
    if not value:
        raise ValueError(f"{variable}: {path} is empty")
    return value


def _environ(name: str) -> str | None:
    # Environment variable names are matched without regard to case, as
    # pydantic-settings does for the values themselves.
    for key, value in os.environ.items():
        if key.upper() == name:
            return value
    return None
