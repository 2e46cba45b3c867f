"""The terraform binary, when there is one: ``terraform fmt`` as a second opinion on layout,
and ``terraform init -backend=false`` + ``terraform validate`` on a staged copy of a module.

The candidate tree is never written to: a module (with the local modules it calls) is copied
into the scratch space, terraform's data folder and CLI configuration live there too, and
providers are cached once under the tools folder. Without access to the provider registry
``init`` cannot install providers; that is reported as "offline", not as a failure.
``terraform plan`` is never run: it needs cloud credentials and APIs that validation lacks.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

from release_assets.settings import selected_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import run_tool

FMT_TIMEOUT_S = 30
INIT_TIMEOUT_S = 300
VALIDATE_TIMEOUT_S = 120
# What `terraform init` says when the provider registry cannot be reached.
_OFFLINE = (
    "could not connect to",
    "failed to query available provider packages",
    "failed to request discovery document",
    "dial tcp",
    "no such host",
    "i/o timeout",
    "connection refused",
    "network is unreachable",
    "tls handshake timeout",
)


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" or "warning"
    summary: str
    detail: str
    file: Path | None  # in the candidate tree
    line: int | None


@dataclass
class ValidateOutcome:
    offline: bool = False
    init_error: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def terraform_env(work: Path, plugin_cache: Path) -> dict[str, str]:
    """terraform's environment: no credentials, no update check, its state in ``work``."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    plugin_cache.mkdir(parents=True, exist_ok=True)
    rc = work / "terraformrc"
    rc.write_text(f"plugin_cache_dir = {json.dumps(str(plugin_cache))}\n")
    env = selected_environment(("LANG", "LC_ALL", "TZ"))
    env.update(
        PATH=os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=str(home),
        TF_CLI_CONFIG_FILE=str(rc),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    return env


def terraform_version(terraform: str, env: dict[str, str], cwd: Path) -> str:
    done = run_tool([terraform, "version", "-json"], cwd, FMT_TIMEOUT_S, env)
    try:
        return str(json.loads(done.stdout)["terraform_version"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return "(unknown version)"


def fmt_difference(terraform: str, text: str, env: dict[str, str], cwd: Path) -> int | None:
    """The first line ``terraform fmt`` would change in ``text``; None when it is formatted
    (or when terraform cannot parse it -- syntax errors are reported by the parse check)."""
    try:
        done = subprocess.run(
            [terraform, "fmt", "-no-color", "-"],
            input=text,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=FMT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GateCrashed(f"terraform fmt timed out after {FMT_TIMEOUT_S}s") from None
    if done.returncode != 0 or done.stdout == text:
        return None
    matcher = difflib.SequenceMatcher(a=text.splitlines(), b=done.stdout.splitlines())
    for tag, i1, _i2, _j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            return i1 + 1
    return len(text.splitlines()) or 1  # only the final newline differs


def _local_sources(module: Path) -> list[Path]:
    """Folders of the local modules (``./`` or ``../`` sources) that ``module`` calls."""
    out = []
    for tf in sorted(module.glob("*.tf")):
        try:
            data = hcl2.loads(tf.read_text())
        except Exception:  # syntax errors are reported by the parse check
            continue
        for block in data.get("module") or []:
            for body in block.values():
                source = str(body.get("source", "")).strip('"') if isinstance(body, dict) else ""
                if source.startswith(("./", "../")):
                    out.append((module / source).resolve())
    return out


def stage_module(repo: Path, module: Path, dest: Path) -> Path:
    """Copy ``module`` and the local modules it calls (inside ``repo``) to ``dest``, keeping
    their repository-relative places; the staged module's folder."""
    root = repo.resolve()
    todo, seen = [module.resolve()], set()
    ignore = shutil.ignore_patterns(".terraform", "terraform.tfstate*")
    while todo:
        folder = todo.pop()
        if folder in seen or not folder.is_relative_to(root) or not folder.is_dir():
            continue
        seen.add(folder)
        shutil.copytree(folder, dest / folder.relative_to(root), ignore=ignore, dirs_exist_ok=True)
        todo.extend(_local_sources(folder))
    return dest / module.resolve().relative_to(root)


def _diagnostics(stdout: str, staged: Path, stage_root: Path, repo: Path) -> list[Diagnostic]:
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        tail = mask_secrets(stdout[-500:])
        raise GateCrashed(f"terraform validate printed no JSON: {tail}") from None
    out = []
    for d in data.get("diagnostics") or []:
        where = d.get("range") or {}
        file = None
        if where.get("filename"):
            path = (staged / where["filename"]).resolve()
            if path.is_relative_to(stage_root.resolve()):
                file = repo / path.relative_to(stage_root.resolve())
        out.append(
            Diagnostic(
                severity="warning" if d.get("severity") == "warning" else "error",
                summary=mask_secrets(str(d.get("summary", ""))),
                detail=mask_secrets(" ".join(str(d.get("detail", "")).split())),
                file=file,
                line=(where.get("start") or {}).get("line"),
            )
        )
    return out


def validate_module(
    terraform: str, repo: Path, module: Path, work: Path, env: dict[str, str]
) -> ValidateOutcome:
    """``terraform init -backend=false`` then ``terraform validate`` on a staged copy."""
    stage_root = work / "tree"
    shutil.rmtree(stage_root, ignore_errors=True)
    staged = stage_module(repo, module, stage_root)
    env = {**env, "TF_DATA_DIR": str(work / "data")}
    init = [terraform, "init", "-backend=false", "-input=false", "-no-color"]
    try:
        done = run_tool(init, staged, INIT_TIMEOUT_S, env)
    except GateCrashed:  # a registry that never answers
        return ValidateOutcome(offline=True)
    if done.returncode != 0:
        text = done.stderr + done.stdout
        if any(marker in text.lower() for marker in _OFFLINE):
            return ValidateOutcome(offline=True)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        first = next((i for i, ln in enumerate(lines) if ln.startswith("Error:")), 0)
        return ValidateOutcome(init_error=mask_secrets(" ".join(lines[first:])[:600]))
    done = run_tool([terraform, "validate", "-json", "-no-color"], staged, VALIDATE_TIMEOUT_S, env)
    return ValidateOutcome(diagnostics=_diagnostics(done.stdout, staged, stage_root, repo))
