"""Parse-time calls recorded by the DAG probe become one finding per call site, naming every
DAG that reaches it; an import that failed on such a call is folded into its finding."""

from __future__ import annotations

from pathlib import Path

from release_assets.config import load_release_config
from release_assets.runtimes.airflow.dag_probe import FileParse
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.parse_findings import (
    import_error_finding,
    parse_time_findings,
)

_VIA = {"kind": "variable", "key": "bucket", "line": 3, "via": "common/cfg.py:2"}


def _parse(
    path: str, dags: list[str], effects: list[dict[str, object]], error: str | None = None
) -> FileParse:
    return FileParse(path, 0.1, error, {d: {} for d in dags}, effects)


def test_a_helper_reached_from_two_dag_files_is_one_finding(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    for name in ("a", "b"):
        (northstar_copy / "dags" / f"{name}.py").write_text("from common.cfg import X\n")
    index = DagIndex(
        files={
            "dags/a.py": _parse("dags/a.py", ["a"], [_VIA]),
            "dags/b.py": _parse("dags/b.py", ["b"], [{**_VIA, "line": 1}]),
        }
    )

    (finding,) = parse_time_findings(northstar_copy, config, index, ["dags/a.py", "dags/b.py"])

    assert (finding.file, finding.line, finding.obj) == ("dags/common/cfg.py", 2, "dag:a")
    assert finding.message == (
        "reads Airflow Variable 'bucket' at parse time (DAG a, b); "
        "reached from dags/a.py:3, dags/b.py:1"
    )
    assert "{{ var.value.bucket }}" in (finding.fix or "")


def test_an_import_that_failed_on_a_parse_time_read_is_one_finding(northstar_copy: Path) -> None:
    config = load_release_config(northstar_copy)
    (northstar_copy / "dags" / "c.py").write_text("X = Variable.get('limit')\n")
    error = (
        'Traceback (most recent call last):\n  File "dags/c.py", line 1, in <module>\n'
        "KeyError: 'Variable limit does not exist'\n"
    )
    effect = {"kind": "variable", "key": "limit", "line": 1}
    parse = _parse("dags/c.py", [], [effect], error)
    index = DagIndex(files={"dags/c.py": parse})

    assert import_error_finding(northstar_copy, config, parse, "dags/c.py") is None
    (finding,) = parse_time_findings(northstar_copy, config, index, ["dags/c.py"])
    assert finding.obj == "file:dags/c.py" and finding.line == 1
    assert finding.message.endswith(
        "validation could not import the file there: KeyError: 'Variable limit does not exist'"
    )
    # Any other import error stays a finding of its own.
    other = _parse("dags/c.py", [], [], error.replace("line 1", "line 2"))
    plain = import_error_finding(northstar_copy, config, other, "dags/c.py")
    assert plain is not None and plain.line == 2 and "does not import in Airflow" in plain.message


def test_a_start_date_from_the_clock_blocks_and_other_clock_values_warn(
    northstar_copy: Path,
) -> None:
    config = load_release_config(northstar_copy)
    (northstar_copy / "dags" / "d.py").write_text(
        "from datetime import date, datetime\nfrom airflow import DAG\n"
        "TARGET = date.today()\n"
        'with DAG("d", start_date=datetime.utcnow()):\n    pass\n'
    )
    index = DagIndex(files={"dags/d.py": _parse("dags/d.py", ["d"], [])})

    target, start = parse_time_findings(northstar_copy, config, index, ["dags/d.py"])

    assert (target.line, target.severity, target.obj) == (3, "warning", "dag:d")
    assert "a value is computed from the current time at parse time (date.today())" in (
        target.message
    )
    assert (start.line, start.severity) == (4, "error")
    assert start.message == (
        "start_date is computed from the current time at parse time (datetime.utcnow()) (DAG d)"
    )
