"""The source scan finds values computed from the current time at parse time, wherever the
DAG file's top-level code (or a DAGs-folder module it imports) computes them, and leaves task
code alone."""

from __future__ import annotations

from pathlib import Path

from release_assets.validation.inputs.parse_effects import clock_calls

_HEADER = "from datetime import datetime, timedelta\nfrom airflow import DAG\n"


def _write(folder: Path, rel: str, text: str) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_text(text)


def test_the_issue_example_names_the_line_the_dag_and_the_field(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "new.py",
        _HEADER + 'with DAG("new", start_date=datetime.now() - timedelta(days=1)):\n    pass\n',
    )
    (call,) = clock_calls(tmp_path, "new.py")
    assert (call.line, call.call, call.dag_id, call.field) == (
        3,
        "datetime.now()",
        "new",
        "start_date",
    )


def test_every_spelling_of_the_clock_at_parse_time_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "many.py",
        "import time\nimport datetime as dt\nfrom datetime import date\nimport pendulum\n"
        "from airflow.decorators import dag\nfrom airflow.utils.dates import days_ago\n"
        "from airflow.utils import timezone\n"
        "TODAY = date.today()\n"  # 8
        "default_args = {'start_date': days_ago(2), 'timer': time.time()}\n"  # 9
        "@dag(start_date=pendulum.today('UTC').add(days=-1), end_date=time.time())\n"  # 10
        "def decorated():\n    pass\n"
        "START_DATE = timezone.utcnow()\n",  # 13
    )
    found = {(c.line, c.call, c.dag_id, c.field) for c in clock_calls(tmp_path, "many.py")}
    assert found == {
        (8, "date.today()", None, None),
        (9, "days_ago()", None, "start_date"),
        (10, "pendulum.today()", "decorated", "start_date"),
        (10, "time.time()", "decorated", "end_date"),
        (13, "timezone.utcnow()", None, "start_date"),
    }


def test_task_code_and_the_main_guard_are_left_alone(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "fine.py",
        _HEADER + "import time\nSTARTED = time.time()\n\n"
        "def load(**context):\n    return datetime.now()\n\n"
        "cb = lambda: datetime.utcnow()\n"
        'with DAG("fine", start_date=datetime(2024, 1, 1)):\n    pass\n'
        'if __name__ == "__main__":\n    print(datetime.now())\n',
    )
    assert clock_calls(tmp_path, "fine.py") == []


def test_a_helper_module_of_the_dags_folder_is_followed_from_its_import(tmp_path: Path) -> None:
    _write(tmp_path, "common/__init__.py", "")
    _write(tmp_path, "common/defaults.py", "import pendulum\n\nSTART = pendulum.now('UTC')\n")
    _write(
        tmp_path,
        "uses.py",
        _HEADER + "from common.defaults import START\n"
        'with DAG("uses", start_date=START):\n    pass\n',
    )
    (call,) = clock_calls(tmp_path, "uses.py")
    assert (call.file, call.line, call.imported_at) == ("common/defaults.py", 3, 3)
    # A helper imported only inside a task callable runs at task time.
    _write(
        tmp_path,
        "lazy.py",
        _HEADER + "def run():\n    from common.defaults import START\n",
    )
    assert clock_calls(tmp_path, "lazy.py") == []


def test_a_clock_value_reaching_start_date_through_a_name_feeds_start_date(
    tmp_path: Path,
) -> None:
    # The common spelling: a module-level name, in the DAG file or in a shared module.
    _write(
        tmp_path,
        "named.py",
        _HEADER + "START = datetime.now() - timedelta(days=1)\n"
        'with DAG("named", start_date=START):\n    pass\n',
    )
    _write(tmp_path, "common/__init__.py", "")
    _write(
        tmp_path,
        "common/dates.py",
        "from datetime import datetime, timedelta\n"
        "YESTERDAY = datetime.now() - timedelta(days=1)\nNOW_FOR_LOGS = datetime.now()\n",
    )
    _write(
        tmp_path,
        "shared.py",
        _HEADER + "from common import dates\n"
        'with DAG("shared", default_args={"start_date": dates.YESTERDAY}):\n    pass\n',
    )

    (named,) = clock_calls(tmp_path, "named.py")
    assert (named.line, named.field) == (3, "start_date")
    found = {(c.file, c.line, c.field) for c in clock_calls(tmp_path, "shared.py")}
    # The name that reaches start_date is promoted; a clock value used elsewhere is not.
    assert found == {("common/dates.py", 2, "start_date"), ("common/dates.py", 3, None)}
