"""Secrets from files: `CREDWATCH_<NAME>_FILE` names the file holding the value."""

from __future__ import annotations

import logging

import pytest

from credwatch.secret_files import file_settings
from credwatch.settings import Settings


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if (
            name.upper().startswith("CREDWATCH_")
            and name.upper() != "CREDWATCH_TEST_DATABASE_URL"
        ):
            monkeypatch.delenv(name)
    return monkeypatch


def write(tmp_path, name: str, content: str, mode: int = 0o600):
    path = tmp_path / name
    path.write_text(content)
    path.chmod(mode)
    return path


def test_every_secret_and_url_can_come_from_a_file(clean_env, tmp_path):
    names = file_settings(Settings)
    for expected in (
        "okta_token",
        "okta_hook_secret",
        "jira_token",
        "notion_token",
        "notify_webhook_url",
        "notify_routing_key",
        "database_url",
        "mlflow_uri",
    ):
        assert expected in names
    values = {
        "okta_token": "00-okta-token-from-file",
        "okta_hook_secret": "hook-secret-from-file",
        "jira_token": "jira-token-from-file",
        "notion_token": "secret_notion-from-file",
        "notify_webhook_url": "https://hooks.example.com/services/T0/B0/secret",
        "database_url": "sqlite:////tmp/from-file.db",
    }
    for name, value in values.items():
        # A trailing newline, as editors and `echo` leave one.
        path = write(tmp_path, name, value + "\n")
        clean_env.setenv(f"CREDWATCH_{name.upper()}_FILE", str(path))
    settings = Settings(_env_file=None)
    for name, value in values.items():
        got = getattr(settings, name)
        assert (
            got.get_secret_value() if hasattr(got, "get_secret_value") else got
        ) == value
    shown = repr(settings)
    for name, value in values.items():
        if name != "database_url":
            assert value not in shown


def test_a_value_and_its_file_together_are_refused(clean_env, tmp_path):
    clean_env.setenv("CREDWATCH_OKTA_TOKEN", "in-the-environment")
    clean_env.setenv(
        "CREDWATCH_OKTA_TOKEN_FILE", str(write(tmp_path, "t", "in-a-file"))
    )
    with pytest.raises(
        ValueError, match="both CREDWATCH_OKTA_TOKEN and CREDWATCH_OKTA_TOKEN_FILE"
    ):
        Settings(_env_file=None)


def test_a_missing_or_empty_file_is_named_without_its_content(clean_env, tmp_path):
    clean_env.setenv("CREDWATCH_JIRA_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="CREDWATCH_JIRA_TOKEN_FILE: no file at"):
        Settings(_env_file=None)
    clean_env.setenv("CREDWATCH_JIRA_TOKEN_FILE", str(write(tmp_path, "empty", "\n")))
    with pytest.raises(ValueError, match="is empty"):
        Settings(_env_file=None)


def test_a_file_others_can_read_is_warned_about(clean_env, tmp_path, caplog):
    path = write(tmp_path, "token", "very-secret-token-value", mode=0o644)
    clean_env.setenv("CREDWATCH_OKTA_TOKEN_FILE", str(path))
    with caplog.at_level(logging.WARNING):
        settings = Settings(_env_file=None)
    assert settings.okta_token.get_secret_value() == "very-secret-token-value"
    assert "chmod 600" in caplog.text
    assert "very-secret-token-value" not in caplog.text
