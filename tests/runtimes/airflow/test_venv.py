from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.runtimes.airflow import venv
from release_assets.runtimes.airflow.venv import (
    RuntimeBuildError,
    ensure_runtime,
    requirement_lines,
    runtime_key,
)


def test_requirement_lines_drop_comments_and_blanks(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# runtime\nduckdb==2.0.0  # warehouse\n\npyspark==4.3.0\n")
    assert requirement_lines(req) == ["duckdb==2.0.0", "pyspark==4.3.0"]


def test_key_changes_with_airflow_version_and_requirements() -> None:
    base = runtime_key("2.11.2", ["duckdb==2.0.0"])
    assert runtime_key("2.11.2", ["duckdb==2.0.0"]) == base
    assert runtime_key("2.10.5", ["duckdb==2.0.0"]) != base
    assert runtime_key("2.11.2", ["duckdb==1.4.0"]) != base


def test_a_new_platform_pin_rebuilds_airflow_2_runtimes_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reqs = ["duckdb==2.0.0"]
    before = {v: runtime_key(v, reqs) for v in ("2.11.2", "3.3.2")}
    assert any(p.startswith("psycopg2-binary==") for p in venv.platform_packages("2.11.2"))
    monkeypatch.setattr(venv, "AIRFLOW2_PLATFORM_PACKAGES", ("psycopg2-binary==2.9.99",))
    assert runtime_key("2.11.2", reqs) != before["2.11.2"]  # the local metadata DB's driver
    assert runtime_key("3.3.2", reqs) == before["3.3.2"]  # Airflow 3 keeps SQLite: untouched


@pytest.mark.slow
def test_an_unresolvable_requirement_is_named(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("apache-airflow-providers-nonexistent-xyz==9.9.9\n")
    with pytest.raises(RuntimeBuildError) as info:
        ensure_runtime(tmp_path / "runtimes", "2.11.2", req)
    message = str(info.value)
    assert str(req) in message
    assert "apache-airflow-providers-nonexistent-xyz" in message
    # A failed build is not mistaken for a usable runtime next time.
    assert not list((tmp_path / "runtimes").glob("*/.complete"))
