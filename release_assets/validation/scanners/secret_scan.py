"""detect-secrets over a list of files, and the allowlist (a detect-secrets baseline) that
accepts known findings.

detect-secrets runs as its own process (``detect-secrets scan``): its settings are process
globals, which gates running in threads must not share. Network verification of found secrets
is off (``--no-verify``). Its report carries a hash of each secret, never the value; the hash
stays inside this module too (a short password's hash can be reversed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.settings import selected_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import bundled, run_tool

SCAN_TIMEOUT_S = 300
_CHUNK = 200  # files per detect-secrets process (bounded command lines)
_SNIFF = 8192
# Tool caches that are no part of the source (a working tree may hold them).
_CACHE_DIRS = {".ruff_cache", ".mypy_cache", ".pytest_cache", ".terraform", "node_modules", ".tox"}


@dataclass(frozen=True)
class SecretHit:
    file: str  # repository-relative
    line: int | None
    kind: str  # the detector's name, e.g. "AWS Access Key"
    hashed: str  # detect-secrets' hash of the value (matched against the allowlist only)


def is_text(path: Path) -> bool:
    """A file detect-secrets can read: no NUL byte, valid UTF-8."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if b"\0" in data[:_SNIFF]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_tool_cache(repo: Path, rel: str) -> bool:
    """Inside a tool cache: a well-known cache folder, or one tagged with ``CACHEDIR.TAG``."""
    parts = PurePosixPath(rel).parts[:-1]
    if set(parts) & _CACHE_DIRS:
        return True
    return any(
        (repo.joinpath(*parts[: i + 1]) / "CACHEDIR.TAG").is_file() for i in range(len(parts))
    )


def _env(home: Path) -> dict[str, str]:
    env = selected_environment(("LANG", "LC_ALL", "TZ"))
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=str(home), PYTHONUTF8="1")
    return env


def scan_secrets(repo: Path, files: list[str], home: Path) -> list[SecretHit]:
    """detect-secrets' default plugins and filters (inline ``pragma: allowlist secret``
    included) over ``files`` (repository-relative, text only)."""
    home.mkdir(parents=True, exist_ok=True)
    # One worker process: detect-secrets' pool waits forever for a worker the kernel killed
    # (seen under memory pressure in CI); a chunk of files is small and fast on one core.
    cmd = [bundled("detect-secrets"), "--cores", "1", "scan", "--no-verify", "--all-files"]
    hits: list[SecretHit] = []
    for start in range(0, len(files), _CHUNK):
        chunk = files[start : start + _CHUNK]
        done = run_tool([*cmd, "--", *chunk], repo, SCAN_TIMEOUT_S, _env(home))
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-10:])
            raise GateCrashed(f"detect-secrets exited with {done.returncode}: {mask_secrets(tail)}")
        try:
            results: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)["results"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise GateCrashed("detect-secrets printed no baseline JSON") from None
        for filename, items in results.items():
            for item in items:
                hits.append(
                    SecretHit(
                        file=PurePosixPath(filename).as_posix(),
                        line=item.get("line_number"),
                        kind=str(item.get("type") or "secret"),
                        hashed=str(item.get("hashed_secret") or ""),
                    )
                )
    return sorted(hits, key=lambda h: (h.file, h.line or 0, h.kind))


class AllowlistError(ValueError):
    """The allowlist file is not a detect-secrets baseline."""


def load_allowlist(path: Path) -> set[tuple[str, str]]:
    """(file, hashed secret) pairs a detect-secrets baseline accepts: all of its results but
    those an audit marked as real secrets (``is_secret: true``)."""
    try:
        data = json.loads(path.read_text())
        results = data["results"]
        return {
            (PurePosixPath(filename).as_posix(), str(item["hashed_secret"]))
            for filename, items in results.items()
            for item in items
            if item.get("is_secret") is not True
        }
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise AllowlistError(f"{type(exc).__name__}: {exc}") from None
