"""detect-secrets over a list of files, and the allowlist (a detect-secrets baseline) that
accepts known findings.

detect-secrets runs in a process of its own (its settings are process globals, which gates
running in threads must not share), started here as ``python -m`` of this module: it configures
detect-secrets exactly as ``detect-secrets scan --no-verify --all-files`` does (default plugins
and filters, no network verification) and scans the files one after the other. It does not use
detect-secrets' own ``scan`` command: that one scans more than one file through a
``multiprocessing.Pool`` even with ``--cores 1``, and the pool waits forever for a worker that
died (a worker killed by the kernel hung the secrets gate until its timeout in CI). Here the
scan is one process in a session of its own: if it dies the gate fails at once naming the
signal and the file, and on timeout the whole session is killed and the message names the file
being scanned. The report carries a hash of each secret, never the value; the hash stays inside
this module too (a short password's hash can be reversed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.settings import selected_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets

SCAN_TIMEOUT_S = 300  # per detect-secrets process (one chunk of files)
_CHUNK = 200  # files per detect-secrets process (bounded command lines)
_SNIFF = 8192
_MODULE = "release_assets.validation.scanners.secret_scan"
_SCANNING = "scanning: "  # the child's progress line on stderr, before each file
_REAP_S = 10.0
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
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=str(home))
    return env


def _where(stderr: str, total: int) -> str:
    """Which file the scan was on, from the child's progress lines."""
    scanning = [ln[len(_SCANNING) :] for ln in stderr.splitlines() if ln.startswith(_SCANNING)]
    if not scanning:
        return "before it opened a file"
    return f"while scanning {scanning[-1]} (file {len(scanning)} of {total})"


def _scan_chunk(repo: Path, chunk: list[str], home: Path) -> str:
    """One detect-secrets process over ``chunk``; its baseline JSON (stdout).

    Raises ``GateCrashed`` naming the file being scanned when the process runs longer than
    ``SCAN_TIMEOUT_S`` seconds (its session is killed) or dies of a signal, and with the last
    lines of its stderr (credentials masked) when it exits non-zero.
    """
    # -I: neither the repository (the working directory) nor PYTHON* variables can shadow a
    # module of the scanner; -X utf8: files are read as UTF-8 whatever the locale.
    cmd = [sys.executable, "-I", "-X", "utf8", "-m", _MODULE, "--", *chunk]
    proc = subprocess.Popen(
        cmd,
        cwd=repo,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=SCAN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=_REAP_S)
        raise GateCrashed(
            f"detect-secrets timed out after {SCAN_TIMEOUT_S:.0f}s {_where(err, len(chunk))}"
        ) from None
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise GateCrashed(f"detect-secrets was killed by {name} {_where(err, len(chunk))}")
    if proc.returncode != 0:
        lines = [ln for ln in err.strip().splitlines() if not ln.startswith(_SCANNING)]
        tail = "\n".join(lines[-10:])
        raise GateCrashed(f"detect-secrets exited with {proc.returncode}: {mask_secrets(tail)}")
    return out


def scan_secrets(repo: Path, files: list[str], home: Path) -> list[SecretHit]:
    """detect-secrets' default plugins and filters (inline ``pragma: allowlist secret``
    included) over ``files`` (repository-relative, text only), at most ``_CHUNK`` files per
    process, each process bounded by ``SCAN_TIMEOUT_S`` seconds.

    Raises ``GateCrashed`` when a scan cannot finish (see ``_scan_chunk``) or prints no
    baseline JSON.
    """
    home.mkdir(parents=True, exist_ok=True)
    hits: list[SecretHit] = []
    for start in range(0, len(files), _CHUNK):
        out = _scan_chunk(repo, files[start : start + _CHUNK], home)
        try:
            results: dict[str, list[dict[str, Any]]] = json.loads(out)["results"]
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


def _scan_main(paths: list[str]) -> int:
    """The scanning process: detect-secrets configured by its own argument parser exactly as
    ``detect-secrets scan --no-verify --all-files -- PATHS`` configures it, the files scanned
    one by one in this process (a progress line on stderr before each), the baseline JSON
    that command prints on stdout."""
    from detect_secrets.core import baseline
    from detect_secrets.core.scan import get_files_to_scan
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.main import parse_args

    args = parse_args(["scan", "--no-verify", "--all-files", "--", *paths])
    secrets = SecretsCollection(root=args.custom_root)
    for filename in get_files_to_scan(
        *args.path, should_scan_all_files=args.all_files, root=args.custom_root
    ):
        print(f"{_SCANNING}{filename}", file=sys.stderr, flush=True)
        secrets.scan_file(filename)
    print(json.dumps(baseline.format_for_output(secrets), indent=2))
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(_scan_main(argv[1:] if argv[:1] == ["--"] else argv))
