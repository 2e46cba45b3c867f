"""The layering rules of docs/architecture.md hold: import-linter's contracts in pyproject.toml
(layers without cycles, Dagster-free release logic, Airflow-side code importing nothing of the
package, asset modules independent of each other)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from release_assets.settings import CHECKOUT_ROOT


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), str(CHECKOUT_ROOT / "pyproject.toml")],
        cwd=CHECKOUT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_release_logic_imports_without_dagster() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import release_assets.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__):\n"
        "    importlib.import_module(f'release_assets.core.{m.name}')\n"
        "print(sorted(n for n in sys.modules if n == 'dagster' or n.startswith('dagster.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def test_only_the_settings_module_reads_the_process_environment() -> None:
    package = CHECKOUT_ROOT / "release_assets"
    in_airflow = package / "runtimes" / "airflow" / "in_airflow"
    readers = []
    for path in sorted(package.rglob("*.py")):
        if (path.name == "settings.py" and path.parent == package) or in_airflow in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            is_environ = isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
            if is_environ and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{path.relative_to(CHECKOUT_ROOT)}:{node.lineno}")
    assert readers == []
