"""dbt runs of the dbt gate and what they report: dbt's own error entries (carried by
``DbtError``, read from dbt's log) as findings naming the file, line and object at fault;
secrets masked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from release_assets.core.dbt_cli import DbtError, error_entries, run_dbt
from release_assets.settings import inherited_environment
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateCrashed

_FILE = re.compile(r"(?:^|[\s(:'\"])((?:[\w.-]+/)*[\w.-]+\.(?:sql|yml|yaml|py|csv|md))\b")
_LINE = re.compile(r"\bline (\d+)")
_OBJ = re.compile(
    r"\bin (model|test|unit_test|snapshot|seed|source|macro|analysis|operation) ([\w.]+)"
    r"|\b(Model|Test) '(?:model|test)\.[\w]+\.([\w]+)"
)
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY", re.IGNORECASE)
_PATH_KEYS = (
    "model-paths",
    "test-paths",
    "macro-paths",
    "seed-paths",
    "snapshot-paths",
    "analysis-paths",
)


DBT_TIMEOUT_S = 600.0


def run_bounded(ctx: ValidationContext, args: list[str], scratch: Path, env: dict[str, str]) -> str:
    """``dbt <args>`` on the candidate's project (local target) with the context's dbt
    (``ctx.dbt_executable()``); returns dbt's output. A timeout crashes the gate
    (``GateCrashed``); any other failure raises ``DbtError`` with dbt's error entries."""
    assert ctx.config.dbt is not None
    try:
        return run_dbt(
            args,
            ctx.repo / ctx.config.dbt.project_dir,
            ctx.repo / ctx.config.dbt.profiles_dir,
            ctx.config.dbt.targets["local"],
            env,
            scratch,
            timeout_s=DBT_TIMEOUT_S,
            dbt=ctx.dbt_executable()[0],
        )
    except DbtError as exc:
        if exc.timed_out:
            raise GateCrashed(mask(str(exc), env)) from None
        raise


def errors_of(exc: DbtError, env: dict[str, str]) -> list[str]:
    """dbt's error entries carried by ``exc`` (its whole message when it has none), masked."""
    return [mask(e, env) for e in exc.errors] or [mask(str(exc), env)]


def mask(text: str, env: dict[str, str] | None = None) -> str:
    """``text`` without the values of secret-looking environment variables."""
    for name, value in {**inherited_environment(), **(env or {})}.items():
        if _SECRET_NAME.search(name) and len(value) >= 4:
            text = text.replace(value, "****")
    return text


def last_run_errors(log: Path) -> list[str]:
    """The ``[error]`` entries of the last dbt invocation in ``log`` (``error_entries``)."""
    return error_entries(log)


@dataclass
class DbtProject:
    """Where a dbt project's files are (its ``*-paths``), to turn dbt's paths into repository
    paths."""

    repo: Path
    project_dir: str
    paths: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            data = yaml.safe_load((self.root / "dbt_project.yml").read_text()) or {}
        except (OSError, yaml.YAMLError, AttributeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        for key in _PATH_KEYS:
            default = [key.split("-")[0] + "s"] if key != "analysis-paths" else ["analyses"]
            value = data.get(key) or default
            self.paths[key] = [str(p).strip("/") for p in value if isinstance(p, str)]

    @property
    def root(self) -> Path:
        return self.repo / self.project_dir

    @property
    def macro_paths(self) -> list[str]:
        return self.paths["macro-paths"]

    @property
    def test_paths(self) -> list[str]:
        return self.paths["test-paths"]

    def rel(self, dbt_path: str | None) -> str | None:
        """The repository path of a path dbt reports (project- or resource-path-relative)."""
        if not dbt_path:
            return None
        dbt_path = dbt_path.split("://", 1)[-1]
        for prefix in ["", *(p for paths in self.paths.values() for p in paths)]:
            candidate = self.root / prefix / dbt_path
            if candidate.is_file():
                return candidate.relative_to(self.repo).as_posix()
        for found in sorted(self.root.rglob(PurePosixPath(dbt_path).name)):
            if found.as_posix().endswith(f"/{dbt_path}"):
                return found.relative_to(self.repo).as_posix()
        return (PurePosixPath(self.project_dir) / dbt_path).as_posix()


def fix_for(text: str, obj: str | None) -> str:
    """What to do about one of dbt's errors, read from its text."""
    missing = re.search(r"depends on a node named '([\w.]+)'(?: with version '\w+')?", text)
    if missing and "which is disabled" in text:
        user = obj.split(":", 1)[-1] if obj else "the model"
        return (
            f"enable {missing.group(1)} again (it is disabled: `enabled: false` in its config "
            f"or YAML), or remove the ref('{missing.group(1)}') from {user}"
        )
    if missing:
        return (
            f"ref() a model that exists: {missing.group(1)!r} is not a model, seed or snapshot "
            "of this release (typo, or a model that was removed or disabled)"
        )
    var = re.search(r"Required var '(\w+)' not found", text)
    if var:
        return (
            f"define var {var.group(1)!r} under vars: in dbt_project.yml, or give it a default: "
            f"var('{var.group(1)}', <default>)"
        )
    if "Syntax error near line" in text or "while parsing" in text:
        return "fix the YAML at the line shown (indentation, a missing '-' or ':')"
    if re.search(r"unexpected '|expected token|unknown tag|unexpected end of template", text):
        return "fix the Jinja syntax at the line shown (unbalanced brackets, quotes or tags)"
    if "source named" in text:
        return "declare the source in a sources: YAML, or fix the source() name"
    what = obj.split(":", 1)[-1] if obj else "the project"
    return f"fix {what} so that dbt accepts it (reproduce with `dbt parse` / `dbt compile`)"


def _ref_line(path: Path, name: str) -> int | None:
    """The first line of ``path`` that ref()s ``name``."""
    pattern = re.compile(rf"\bref\(\s*(?:['\"]\w+['\"]\s*,\s*)?['\"]{re.escape(name)}['\"]")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return next((i for i, text in enumerate(lines, 1) if pattern.search(text)), None)


def error_finding(text: str, project: DbtProject, step: str, rule: str) -> Finding:
    """One dbt error as a finding: the file, line and object dbt names in its text."""
    file_match = _FILE.search(text)
    file = project.rel(file_match.group(1)) if file_match else None
    line_match = _LINE.search(text)
    obj_match = _OBJ.search(text)
    obj: str | None = None
    if obj_match:
        kind, name = (
            (obj_match.group(1), obj_match.group(2))
            if obj_match.group(1)
            else (
                obj_match.group(3).lower(),
                obj_match.group(4),
            )
        )
        kinds = {"model": "model", "snapshot": "model", "seed": "model", "source": "source"}
        obj = f"{kinds.get(kind, 'test' if 'test' in kind else kind)}:{name}"
    elif file and file.endswith(".sql") and "/models/" in f"/{file}":
        obj = f"model:{PurePosixPath(file).stem}"
    if obj and obj.split(":")[0] not in ("model", "test", "source"):
        obj = None
    detail = "\n".join(ln.strip() for ln in text.splitlines()[:8])
    line = int(line_match.group(1)) if line_match and file else None
    ref = re.search(r"depends on a node named '([\w]+)", text)
    if line is None and file and ref:
        line = _ref_line(project.repo / file, ref.group(1))
    return Finding(
        message=f"dbt {step} fails: {detail}",
        file=file,
        line=line,
        obj=obj,
        fix=fix_for(text, obj),
        rule=rule,
    )
