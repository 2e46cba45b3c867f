"""The requirements gate: requirements.txt resolves with the Airflow pin of release.yaml and
the constraints the environments install with (uv, nothing installed), and its lines parse,
are pinned and leave Airflow alone (issue 10, kind 6: constraints)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.validation.gates.requirements import static_findings
from release_assets.validation.inputs.constraints import constraint_finding, read_constraints
from release_assets.validation.runner import run_gate
from release_assets.validation.scanners.requirements_resolve import (
    Resolution,
    read_constraint_lines,
    read_requirements,
)
from tests.validation.conftest import MakeContext

REQS = "requirements.txt"
CONSTRAINTS = "constraints.txt"


def _write(repo: Path, *lines: str) -> None:
    (repo / REQS).write_text("# runtime requirements\n" + "\n".join(lines) + "\n")


def _append(repo: Path, *lines: str) -> int:
    """Append ``lines`` to the example's requirements.txt; the line number of the first."""
    first = len((repo / REQS).read_text().splitlines()) + 1
    with (repo / REQS).open("a") as f:
        f.write("".join(f"{line}\n" for line in lines))
    return first


def _constraint_line(repo: Path, name: str) -> tuple[int, str]:
    """The line and text of ``name``'s pin in the example's constraints file."""
    for number, text in enumerate((repo / CONSTRAINTS).read_text().splitlines(), 1):
        if text.startswith(f"{name}=="):
            return number, text
    raise AssertionError(f"{name} is not in {CONSTRAINTS}")


def _without_constraints(repo: Path) -> None:
    path = repo / "release.yaml"
    data = yaml.safe_load(path.read_text())
    del data["airflow"]["constraints"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow  # resolves with uv: fast with a warm uv cache, ~10 s from the index
def test_the_example_requirements_resolve(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "passed", result.findings
    assert result.findings == []
    assert result.checked == [REQS, CONSTRAINTS]
    (resolved,) = [n for n in result.notes if "packages" in n]
    count = int(resolved.split(") to ")[1].split()[0])
    assert count > 100 and "apache-airflow==2.11.2" in resolved
    assert f"with the constraints of {CONSTRAINTS} (airflow.constraints)" in resolved


@pytest.mark.slow
def test_a_pin_that_conflicts_with_airflow_names_the_packages_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _without_constraints(northstar_copy)  # Airflow's own requirement says no, not a constraint
    _write(northstar_copy, "dbt-core==1.11.16", "duckdb==2.0.0", "sqlalchemy==2.0.30  # new ORM")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    (finding,) = result.findings
    assert finding.file == REQS and finding.line == 4
    assert finding.obj == "package:sqlalchemy" and finding.rule == "requirements-conflict"
    assert "apache-airflow, sqlalchemy" in finding.message
    assert "apache-airflow==2.11.2 depends on sqlalchemy" in finding.message  # uv's own line
    assert finding.fix and "sqlalchemy==2.0.30" in finding.fix and "<2.0" in finding.fix
    assert any("without a constraints file" in n or "only" in n for n in result.notes)


@pytest.mark.slow
def test_a_conflict_between_two_requirements_points_at_the_pin(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "dbt-core==1.11.16", "agate==1.6.0", "duckdb==2.0.0")

    result = run_gate("requirements", make_context(northstar_copy))

    (finding,) = result.errors
    assert finding.obj == "package:agate" and finding.line == 3
    assert "dbt-core" in finding.message and "agate" in finding.message


def test_a_malformed_line_is_an_error_at_its_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "dbt-core==1.11.16", "duckdb=2.0.0", "pyspark==4.3.0")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    (finding,) = result.findings
    assert finding.file == REQS and finding.line == 3 and finding.obj == "package:duckdb=2.0.0"
    assert "is not a valid requirement" in finding.message
    assert any("resolution skipped" in n for n in result.notes)


def test_repinning_airflow_is_an_error_and_unpinned_a_warning(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "apache-airflow==2.10.5", "dbt-core>=1.11", "duckdb==2.0.0")

    result = run_gate("requirements", make_context(northstar_copy))

    assert result.status == "failed"
    by_obj = {f.obj: f for f in result.findings}
    airflow = by_obj["package:apache-airflow"]
    assert airflow.severity == "error" and airflow.line == 2
    assert "2.10.5" in airflow.message and "2.11.2" in airflow.message
    unpinned = by_obj["package:dbt-core"]
    assert unpinned.severity == "warning" and unpinned.line == 3
    assert "not pinned" in unpinned.message


def test_the_same_airflow_pin_only_warns(tmp_path: Path) -> None:
    path = tmp_path / REQS
    path.write_text("apache-airflow==2.11.2 \\\n  --hash=sha256:00\npandas[excel]==2.2.3\n")

    findings = static_findings(REQS, read_requirements(path), "2.11.2")

    (finding,) = findings
    assert finding.severity == "warning" and finding.line == 1
    assert finding.obj == "package:apache-airflow"


def test_skipped_when_the_requirements_did_not_change(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    ctx = make_context(northstar_copy, changed_files=["dags/ingest_orders.py"])

    result = run_gate("requirements", ctx)

    assert result.status == "skipped" and result.skipped_reason


# -- constraints (issue 10, kind 6) -------------------------------------------------------------


def _extra_constraints(repo: Path) -> None:
    """requirements.txt installs with a constraints file of its own (-c), pinning duckdb."""
    (repo / "pins").mkdir()
    (repo / "pins" / "extra.txt").write_text("# team constraints\nduckdb==1.4.0\n")
    text = (repo / REQS).read_text().splitlines()
    (repo / REQS).write_text("\n".join([*text[:2], "-c pins/extra.txt", *text[2:]]) + "\n")


@pytest.mark.slow  # uv: well under a second each with a warm cache
@pytest.mark.parametrize("mode", ["full", "pr"])
@pytest.mark.parametrize(
    "case",
    ["the example: a pin", "a range", "a dependency", "a -c line of requirements.txt"],
)
def test_a_requirement_the_constraints_forbid_names_pin_and_constraint(
    northstar_copy: Path, make_context: MakeContext, case: str, mode: str
) -> None:
    line, protobuf = _constraint_line(northstar_copy, "protobuf")
    airflow = f"the constraints for Airflow 2.11.2 ({CONSTRAINTS}:{line})"
    if case == "the example: a pin":
        at = _append(northstar_copy, "protobuf==6.31.1")
        expected = f"requirements.txt:{at} pins protobuf==6.31.1; {airflow} pin {protobuf}"
        obj = "package:protobuf"
    elif case == "a range":
        at = _append(northstar_copy, "protobuf<6.33")
        expected = f"requirements.txt:{at} requires protobuf<6.33; {airflow} pin {protobuf}"
        obj = "package:protobuf"
    elif case == "a dependency":
        at = _append(northstar_copy, "proto-plus==1.22.3")
        expected = (
            f"requirements.txt:{at} pins proto-plus==1.22.3, which {airflow} rule out: it depends "
            f"on protobuf>=3.19.0,<5.0.0.dev0 and they pin {protobuf}"
        )
        obj = "package:proto-plus"
    else:
        _extra_constraints(northstar_copy)
        expected = (
            "requirements.txt:6 pins duckdb==2.0.0; the constraints in pins/extra.txt:2 "
            "(-c at requirements.txt:3) pin duckdb==1.4.0"
        )
        obj = "package:duckdb"
    changed = None if mode == "full" else [REQS]

    result = run_gate("requirements", make_context(northstar_copy, changed_files=changed))

    assert result.status == "failed"
    (finding,) = result.errors
    assert finding.message.splitlines()[0] == expected
    assert "uv says:" in finding.message  # the resolver's own words follow
    assert finding.obj == obj and finding.rule == "requirements-constraint"
    assert finding.fix and "--constraint" in finding.fix


@pytest.mark.slow
def test_a_changed_constraints_file_alone_runs_the_gate(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _extra_constraints(northstar_copy)

    result = run_gate(
        "requirements", make_context(northstar_copy, changed_files=["pins/extra.txt"])
    )

    assert result.status == "failed" and "pins/extra.txt" in result.checked
    assert result.errors[0].obj == "package:duckdb"


def test_a_constraints_line_naming_no_file_is_an_error_at_its_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _write(northstar_copy, "--constraint=pins/none.txt", "duckdb==2.0.0")

    result = run_gate("requirements", make_context(northstar_copy))

    (finding,) = result.findings
    assert (finding.file, finding.line) == (REQS, 2)
    assert finding.rule == "requirements-constraints-missing"
    assert "pins/none.txt" in finding.message
    assert any("resolution skipped" in n for n in result.notes)


def test_constraint_lines_are_read_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / REQS
    path.write_text(
        "# c\n-c constraints.txt\n--constraint https://example.invalid/c.txt\n"
        "--constraint='other.txt'  # team\nduckdb==2.0.0\n"
    )

    refs = [(r.line, r.target, r.is_url) for r in read_constraint_lines(path)]

    assert refs == [
        (2, "constraints.txt", False),
        (3, "https://example.invalid/c.txt", True),
        (4, "other.txt", False),
    ]
    assert [r.text for r in read_requirements(path)] == ["duckdb==2.0.0"]


def test_the_constraint_is_read_from_the_resolvers_words_not_from_the_name(
    northstar_copy: Path,
) -> None:
    """uv names two pins of protobuf; the one matching a constraints line is the constraint."""
    appended = _append(northstar_copy, "protobuf==6.31.1")
    line, protobuf = _constraint_line(northstar_copy, "protobuf")
    path = northstar_copy / REQS
    lines = read_requirements(path)
    pins = read_constraints(northstar_copy, path, CONSTRAINTS, "2.11.2").pins
    said = (
        f"Because you require protobuf==6.31.1 and {protobuf}, we can conclude that your "
        "requirements are unsatisfiable."
    )
    unrelated = "Because you require duckdb==2.0.0 and duckdb==1.4.0, we can conclude that ..."

    finding = constraint_finding(
        REQS, lines, Resolution(False, explanation=[said]), pins, "2.11.2", "3.11"
    )
    neither = constraint_finding(
        REQS, lines, Resolution(False, explanation=[unrelated]), pins, "2.11.2", "3.11"
    )

    assert finding is not None and finding.line == appended
    assert finding.message.startswith(
        f"requirements.txt:{appended} pins protobuf==6.31.1; the constraints for Airflow 2.11.2 "
        f"({CONSTRAINTS}:{line}) pin {protobuf}"
    )
    assert neither is None  # no line of the constraints file: not a constraint conflict
