"""The PySpark jobs and their tests, one job per planned (table, flavor)."""

from __future__ import annotations

from .model import NORTHSTAR, PROJECT, Plan, Table
from .spark_templates import (
    FLAVORS,
    JOB_HEAD,
    JOB_TAIL,
    SPARK_SUPPORT,
    TEST_HEAD,
    TEST_TAIL,
    TESTS,
    TRANSFORMS,
)
from .text import fill, quote, unique, wrap


def plan_jobs(tables: list[Table], count: int) -> list[tuple[str, int, str]]:
    used: set[str] = set()
    out = []
    for j in range(count):
        index, flavor = j % len(tables), FLAVORS[j % len(FLAVORS)]
        out.append((unique(f"{tables[index].name}_{flavor}", used), index, flavor))
    return out


def _test_imports(job: str) -> str:
    lines = {
        job: f"from {job} import INPUT_SCHEMA, OUTPUT_COLUMNS, parse_args, transform",
        "spark_support": "from spark_support import event, frame",
    }
    return "\n".join(lines[k] for k in sorted(lines))


def spark_files(plan: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    for job, index, flavor in plan.jobs:
        t = plan.tables[index]
        what, columns, transform = TRANSFORMS[flavor]
        title = f"{flavor.replace('_', ' ').capitalize()} of the {t.name} events."
        values = {"job": job, "key": t.key, "title": title}
        doc = wrap(
            f"Batch job, submitted by the ``spark_{job}`` DAG as ``spark-submit "
            f"spark/jobs/{job}.py --input <dir> --output <dir> --as-of <date>``. Reads the "
            f"landed ``{t.name}`` JSON files, {what}, and overwrites the ``as_of`` partition "
            "of the output (re-runs are idempotent)."
        )
        head = fill(
            JOB_HEAD,
            **values,
            doc=f"{title}\n\n{doc}",
            columns="(\n"
            + "".join(f"    {quote(c)},\n" for c in columns).replace("<<key>>", t.key)
            + ")",
            window="from pyspark.sql.window import Window\n" if "Window" in transform else "",
        )
        body = head + "\n" + fill(transform, key=t.key)
        files[f"spark/jobs/{job}.py"] = body + fill(
            JOB_TAIL, **values, dashed=job.replace("_", "-")
        )
        files[f"spark/tests/test_{job}.py"] = (
            fill(TEST_HEAD, key=t.key, imports=_test_imports(job)) + TESTS[flavor] + TEST_TAIL
        )
    conftest = (NORTHSTAR / "spark" / "tests" / "conftest.py").read_text()
    files["spark/tests/conftest.py"] = conftest.replace("northstar", PROJECT)
    files["spark/tests/spark_support.py"] = SPARK_SUPPORT
    return files
