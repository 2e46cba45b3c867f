"""The DAG probe records what each file's top-level code does at parse time (Variables,
Connections, databases, network), with the line of the DAG file and the helper that made the
call, never a value; each file runs its DAGs-folder helpers afresh, as Airflow's parsing
processes do; nothing outside the DAGs folder (the probe's own folder, the working directory)
is importable or readable by a relative path."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.airflow.venv import RuntimeVenv

pytestmark = pytest.mark.slow

_DAG = (
    "import pendulum\nfrom airflow import DAG\n"
    'with DAG("{name}", start_date=pendulum.datetime(2026, 1, 1), schedule=None):\n    pass\n'
)
HELPER = (
    "from airflow.models import Variable\n\n"
    'BUCKET = Variable.get("landing_bucket", default_var="s3cr3t-default")\n'  # line 3
)
FIRST = (
    "import socket\nimport sqlite3\n"
    "from airflow.hooks.base import BaseHook\n"
    "from airflow import settings\n"
    "from sqlalchemy import text\n"
    "from shared.config import BUCKET\n"  # line 6
    "try:\n"
    '    socket.create_connection(("127.0.0.1", 9), timeout=0.2)\n'  # 8
    "except OSError:\n    pass\n"
    'sqlite3.connect(":memory:").close()\n'  # line 11
    "try:\n"
    '    BaseHook.get_connection("no_such_conn")\n'  # line 13
    "except Exception:\n    pass\n"
    "with settings.Session() as session:\n"
    '    session.execute(text("select 1"))\n'  # line 17
) + _DAG.format(name="first")
SECOND = "from shared.config import BUCKET\n" + _DAG.format(name="second")
QUIET = _DAG.format(name="quiet")
ESCAPES = "import release_loader  # the probe's own folder is not on sys.path\n" + _DAG.format(
    name="x"
)
RELATIVE = 'open("dags/quiet.py").read()\n' + _DAG.format(name="relative")


def test_parse_effects_are_recorded_per_file_without_values(
    runtime: RuntimeVenv, tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    (dags / "shared").mkdir(parents=True)
    (dags / "shared" / "__init__.py").write_text("")
    (dags / "shared" / "config.py").write_text(HELPER)
    for name, text in {
        "first.py": FIRST,
        "second.py": SECOND,
        "quiet.py": QUIET,
        "escapes.py": ESCAPES,
        "relative.py": RELATIVE,
    }.items():
        (dags / name).write_text(text)

    report = import_dags(runtime, dags, cache_dir=tmp_path / "cache")
    cached = import_dags(runtime, dags, cache_dir=tmp_path / "cache")

    first = report.files["first.py"]
    assert first.error is None, first.error
    effects = [(e["kind"], e["key"], e["line"], e.get("via")) for e in first.parse_effects]
    assert effects == [
        ("variable", "landing_bucket", 6, "shared/config.py:3"),
        ("network", "127.0.0.1:9", 8, None),
        ("database", "sqlite", 11, None),
        ("connection", "no_such_conn", 13, None),
        ("database", "Airflow's metadata database", 17, None),
    ]
    assert [e.get("error") for e in first.parse_effects][3] == "AirflowNotFoundException"
    assert "s3cr3t" not in str(report.files)
    # The helper ran again for the second file, as a separate parsing process would.
    (second,) = report.files["second.py"].parse_effects
    assert (second["key"], second["line"]) == ("landing_bucket", 1)
    assert report.files["quiet.py"].parse_effects == []
    assert "No module named 'release_loader'" in (report.files["escapes.py"].error or "")
    assert "No such file or directory: 'dags/quiet.py'" in (report.files["relative.py"].error or "")
    assert cached.imported == [] and cached.files == report.files
