"""bandit over Python files: its issues with their severity, credentials masked out of the text.

bandit quotes the value in its hardcoded-password tests (B105-B107); that value is cut from the
issue text before it goes anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_assets.settings import selected_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import bundled, run_tool

BANDIT_TIMEOUT_S = 300
SEVERITIES = ("low", "medium", "high")
# Tests whose issue text quotes the literal they flag.
_QUOTING = {"B105", "B106", "B107"}


@dataclass(frozen=True)
class BanditIssue:
    file: str  # as given to bandit (repository-relative)
    line: int | None
    test_id: str
    text: str
    severity: str  # low, medium, high
    confidence: str
    more_info: str | None


@dataclass(frozen=True)
class BanditError:
    file: str
    reason: str


def _text(item: dict[str, Any]) -> str:
    text = str(item.get("issue_text") or "")
    if item.get("test_id") in _QUOTING:
        text = text.split(":", 1)[0]
    return mask_secrets(text)


def run_bandit(
    repo: Path, files: list[str], skips: list[str]
) -> tuple[list[BanditIssue], list[BanditError]]:
    """bandit (every severity and confidence; ``# nosec`` honoured) over ``files``."""
    cmd = [bundled("bandit"), "-f", "json", "-q", "--severity-level", "all"]
    cmd += ["--confidence-level", "all"]
    if skips:
        cmd += ["--skip", ",".join(skips)]
    env = selected_environment(("LANG", "LC_ALL", "TZ", "HOME"))
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", PYTHONUTF8="1")
    done = run_tool([*cmd, "--", *files], repo, BANDIT_TIMEOUT_S, env)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise GateCrashed(f"bandit exited with {done.returncode}: {mask_secrets(tail)}") from None
    issues = [
        BanditIssue(
            file=str(item.get("filename", "")).removeprefix("./"),
            line=item.get("line_number"),
            test_id=str(item.get("test_id")),
            text=_text(item),
            severity=str(item.get("issue_severity", "")).lower(),
            confidence=str(item.get("issue_confidence", "")).lower(),
            more_info=item.get("more_info"),
        )
        for item in data.get("results") or []
    ]
    errors = [
        BanditError(
            str(e.get("filename", "")).removeprefix("./"), mask_secrets(str(e.get("reason")))
        )
        for e in data.get("errors") or []
    ]
    return issues, errors


def fails(severity: str, threshold: str) -> bool:
    """Whether an issue of ``severity`` reaches ``threshold`` (the minimum severity to fail)."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return rank.get(severity, len(SEVERITIES)) >= rank[threshold]
