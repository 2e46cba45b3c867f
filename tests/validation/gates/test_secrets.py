"""The secrets gate: detect-secrets over the change, bandit over DAG and Spark job code.

The fake credentials are assembled at run time, so this file holds none a scanner would flag.
"""

from __future__ import annotations

import random
import re
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.validation.runner import run_gate
from release_assets.validation.scanners.tools import bundled
from tests.validation.conftest import MakeContext

LEAKY = "dags/northstar_common/leaky_settings.py"
PEM = "deploy/landing_writer.pem"
SHELL_DAG = "dags/shell_export.py"

SHELL_DAG_TEXT = '''"""Exports a table through psql."""

import subprocess
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def export(table: str) -> None:
    subprocess.call(f"psql -c 'copy {table} to stdout'", shell=True)


with DAG(dag_id="shell_export", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="export", python_callable=export, op_args=["orders"])
'''


def _random(alphabet: str, n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


class Fakes:
    """Credentials shaped like real ones, built here so no literal one is in the repository."""

    def __init__(self) -> None:
        upper = string.ascii_uppercase + string.digits
        self.key_id = "AK" + "IA" + _random(upper, 16, 1)
        self.db_password = _random(string.ascii_letters + string.digits, 18, 2)
        self.api_token = _random(string.ascii_letters + string.digits, 32, 3)
        self.key_body = _random(string.ascii_letters + string.digits + "+/", 64, 4)

    def values(self) -> list[str]:
        return [self.key_id, self.db_password, self.api_token, self.key_body]

    def settings_module(self) -> str:
        uri = "postgresql://etl_user:" + self.db_password + "@warehouse.internal:5432/analytics"
        return (
            '"""Connection settings."""\n'
            "\n"
            f'LANDING_KEY_ID = "{self.key_id}"\n'  # line 3
            f'WAREHOUSE_URI = "{uri}"\n'  # line 4
            f'API_TOKEN = "{self.api_token}"  # pragma: allowlist secret\n'  # line 5
        )

    def pem(self) -> str:
        kind = "RSA " + "PRIVATE KEY"
        return f"-----BEGIN {kind}-----\n{self.key_body}\n-----END {kind}-----\n"


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def _write(repo: Path, rel: str, text: str) -> None:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)


def _set_secrets(repo: Path, **settings: Any) -> None:
    path = repo / "release.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("validation", {}).setdefault("secrets", {}).update(settings)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _leaks(secret: str, text: str, window: int = 6) -> bool:
    """Whether any ``window`` characters of ``secret`` appear in ``text``."""
    return any(secret[i : i + window] in text for i in range(len(secret) - window + 1))


def test_the_example_repository_passes(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("secrets", make_context(northstar_copy))
    assert result.status == "passed", result.findings
    assert "dags/ingest_orders.py" in result.checked


def test_credentials_are_found_by_file_and_line_and_never_shown(
    northstar_copy: Path, make_context: MakeContext, fakes: Fakes
) -> None:
    _write(northstar_copy, LEAKY, fakes.settings_module())
    _write(northstar_copy, PEM, fakes.pem())

    result = run_gate("secrets", make_context(northstar_copy, changed_files=[LEAKY, PEM]))

    assert result.status == "failed"
    found = {(f.rule, f.file, f.line) for f in result.errors}
    assert ("AWS Access Key", LEAKY, 3) in found
    assert ("Basic Auth Credentials", LEAKY, 4) in found
    assert ("Private Key", PEM, 1) in found
    detected = [f for f in result.findings if not re.fullmatch(r"B\d{3}", f.rule or "")]
    assert not [f for f in detected if f.line == 5]  # its line says `pragma: allowlist secret`
    assert all("rotate it" in (f.fix or "") for f in result.errors if f.file == PEM)
    dump = str(result.to_dict())
    for secret in fakes.values():
        assert not _leaks(secret, dump), "a credential (or part of one) leaked into the result"


def test_an_allowlisted_secret_passes(
    northstar_copy: Path, make_context: MakeContext, fakes: Fakes
) -> None:
    _write(northstar_copy, LEAKY, fakes.settings_module())
    baseline = subprocess.run(
        [bundled("detect-secrets"), "scan", "--all-files", LEAKY],
        cwd=northstar_copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    _write(northstar_copy, ".secrets.baseline", baseline)
    _set_secrets(northstar_copy, allowlist=".secrets.baseline")

    result = run_gate("secrets", make_context(northstar_copy, changed_files=[LEAKY]))

    assert result.status == "passed", result.findings
    assert any("accepted by the allowlist .secrets.baseline" in n for n in result.notes)


def test_binary_files_are_left_out(
    northstar_copy: Path, make_context: MakeContext, fakes: Fakes
) -> None:
    (northstar_copy / "dags" / "blob.bin").write_bytes(b"\0\1" + fakes.key_id.encode())
    result = run_gate("secrets", make_context(northstar_copy, changed_files=["dags/blob.bin"]))
    assert result.status == "passed" and result.checked == []
    assert any("1 binary" in n for n in result.notes)


def test_bandit_fails_a_dag_that_shells_out(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, SHELL_DAG, SHELL_DAG_TEXT)

    result = run_gate("secrets", make_context(northstar_copy, changed_files=[SHELL_DAG]))

    assert result.status == "failed"
    (shell,) = [f for f in result.findings if f.rule == "B602"]
    assert (shell.file, shell.line, shell.obj) == (SHELL_DAG, 11, "dag:shell_export")
    assert shell.severity == "error" and "shell=True" in shell.message
    (imported,) = [f for f in result.findings if f.rule == "B404"]  # low severity
    assert imported.severity == "warning"


def test_bandit_skips_and_severity_come_from_the_config(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, SHELL_DAG, SHELL_DAG_TEXT)
    _set_secrets(northstar_copy, bandit_skips=["B602"])

    result = run_gate("secrets", make_context(northstar_copy, changed_files=[SHELL_DAG]))

    assert result.status == "passed", result.findings
    assert "B602" not in {f.rule for f in result.findings}
    assert any("B602" in n for n in result.notes)

    _set_secrets(northstar_copy, bandit_skips=[], bandit_severity="low")
    strict = run_gate("secrets", make_context(northstar_copy, changed_files=[SHELL_DAG]))
    assert {f.rule for f in strict.errors} == {"B404", "B602"}


def test_bandit_names_the_spark_job(northstar_copy: Path, make_context: MakeContext) -> None:
    job = "spark/jobs/inventory_positions.py"
    text = (northstar_copy / job).read_text()
    _write(
        northstar_copy, job, text + "\n\ndef _parse(expr: str) -> object:\n    return eval(expr)\n"
    )
    line = len(text.splitlines()) + 4

    result = run_gate("secrets", make_context(northstar_copy, changed_files=[job]))

    (finding,) = [f for f in result.findings if f.rule == "B307"]
    assert (finding.file, finding.line, finding.obj) == (job, line, "job:inventory_positions")
    assert result.status == "failed"


def test_a_change_without_files_skips_the_gate(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    result = run_gate("secrets", make_context(northstar_copy, changed_files=[]))
    assert result.status == "skipped"
