"""The local secrets backend: environment variables, read when a secret is used."""

from __future__ import annotations

import pytest

from release_assets.runtimes.secrets.base import SecretNotFound
from release_assets.runtimes.secrets.env import EnvSecrets


def test_a_set_variable_is_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RA_TEST_PASSWORD", "s3cret-value")
    assert EnvSecrets().resolve("RA_TEST_PASSWORD") == "s3cret-value"


def test_an_unset_variable_is_said_to_be_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RA_TEST_PASSWORD", raising=False)
    with pytest.raises(SecretNotFound) as missing:
        EnvSecrets().resolve("RA_TEST_PASSWORD")
    assert missing.value.args[0] == "secret 'RA_TEST_PASSWORD': environment variable is not set"


def test_an_empty_variable_is_said_to_be_empty_not_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RA_TEST_PASSWORD", "")
    with pytest.raises(SecretNotFound) as empty:
        EnvSecrets().resolve("RA_TEST_PASSWORD")
    assert empty.value.args[0] == "secret 'RA_TEST_PASSWORD': environment variable is set but empty"
