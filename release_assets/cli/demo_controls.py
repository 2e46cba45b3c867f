"""The demo's second half: the release controls as the people of the brief meet them.

- on-call: a stray `prod_swap` of the stopped v3 refused with prod untouched; `status`;
  `rollback v2`; `redeploy v2 --reason ...`; `status` again;
- auditor: `audit verify` on the trail, then on a copy of it with one record edited, one
  deleted and two swapped (each named); `audit export --release v2`.

Each command is the installed `release-assets` CLI, run as a person would, its output printed.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from release_assets.cli.oncall import failure_message
from release_assets.core.audit import verify_chain
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.settings import Settings, inherited_environment

Say = Callable[[str], None]
CLI_TIMEOUT_S = 300.0


def cli(settings: Settings, say: Say, *args: str, actor: str = "oncall-olivia") -> int:
    """Run ``release-assets <args>`` as ``actor``, printing each line it prints as it comes
    (its progress lines and its outcome, in order); its exit code. After ``CLI_TIMEOUT_S``
    seconds the command is stopped and one line says so (exit code 124)."""
    exe = Path(sys.executable).with_name("release-assets")
    env = {**inherited_environment(), "RELEASE_ASSETS_ACTOR": actor}
    say(f"$ {shlex.join(['release-assets', *args])}")
    proc = subprocess.Popen(
        [str(exe), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + CLI_TIMEOUT_S
    while True:
        try:
            if time.monotonic() > deadline:
                raise queue.Empty
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            say(f"  (stopped: no end after {CLI_TIMEOUT_S:.0f} s; see its run in the UI)")
            return 124
        if line is None:
            return proc.wait(30)
        if line.strip():
            say(f"  {line}")


def stray_prod_swap(settings: Settings, say: Say, instance: dg.DagsterInstance, tag: str) -> bool:
    """Materialize `prod_swap` alone for ``tag`` (as "Materialize" on its partition in the UI
    does) and say what happened; True if it was refused and prod kept its release."""
    from release_assets.defs.assets.prod_swap import prod_swap
    from release_assets.defs.assets.release_candidate import release_candidate
    from release_assets.defs.definitions import bound_resources

    resources = bound_resources()
    before = resources["production"].airflow.live_release()
    say(f"materializing prod_swap alone for {tag} (as the UI's Materialize would)...")
    result = dg.materialize(
        [release_candidate, prod_swap],
        selection=[prod_swap],
        partition_key=tag,
        instance=instance,
        resources=resources,
        raise_on_error=False,
        tags={"release_assets/actor": "curious-carl"},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    after = resources["production"].airflow.live_release()
    message = failure_message(result, "prod_swap") or "it ran"
    say(f"  {message}")
    say(f"  prod before: {before}, after: {after}")
    return not result.success and before == after


def tamper_demo(settings: Settings, say: Say, root: Path) -> bool:
    """Verify copies of the audit trail at ``root`` with one record edited, one deleted and
    two swapped; True if each was found. The real trail is never touched."""
    found = []
    with tempfile.TemporaryDirectory(prefix="ra-audit-copy-") as tmp:
        for kind in ("edited", "deleted", "reordered"):
            copy = Path(tmp) / kind
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".lock"))
            for path in copy.iterdir():
                os.chmod(path, 0o644)
            files = sorted(p for p in copy.glob("*.json"))
            middle = files[len(files) // 2]
            if kind == "edited":
                data = json.loads(middle.read_text())
                data["event"]["outcome"] = (
                    "passed" if data["event"]["outcome"] != "passed" else "failed"
                )
                middle.write_text(json.dumps(data))
            elif kind == "deleted":
                middle.unlink()
            else:
                nxt = files[len(files) // 2 + 1]
                a, b = middle.read_text(), nxt.read_text()
                middle.write_text(b)
                nxt.write_text(a)
            problems = verify_chain(LocalAuditStore(root=str(copy)).entries())
            say(f"  a copy with {middle.name} {kind}: " + ("; ".join(problems) or "NOT DETECTED"))
            found.append(bool(problems))
    return all(found)


def on_call_story(settings: Settings, say: Say, instance: dg.DagsterInstance) -> bool:
    """After v1..v4: a stray prod_swap of v3 refused; status; rollback v2; redeploy v2 with a
    reason; status; the flagged transformation's canary and its turning on (``flag_story``);
    the audit trail verified, tampered copies caught, v2's chain exported.
    Returns whether every control behaved as the demo means to show."""
    ok = []
    say("")
    say("-- on call: gates hold from every entry point --")
    ok.append(stray_prod_swap(settings, say, instance, "v3"))
    say("")
    say("-- on call: what is live, roll back, go forward again --")
    ok.append(cli(settings, say, "status") == 0)
    ok.append(cli(settings, say, "rollback", "v2") == 0)
    ok.append(cli(settings, say, "rollback", "v2") == 1)  # v2 is no longer live: refused
    ok.append(
        cli(settings, say, "redeploy", "v2", "--reason", "INC-7: v1 lacks the revenue grain fix")
        == 0
    )
    ok.append(cli(settings, say, "status") == 0)
    ok.append(flag_story(settings, say))
    say("")
    say(
        "-- auditor: verify the trail, and copies of it with a record edited, deleted, reordered --"
    )
    ok.append(cli(settings, say, "audit", "verify", actor="auditor-ada") == 0)
    from release_assets.cli.audit import audit_store

    ok.append(tamper_demo(settings, say, Path(audit_store().location)))
    ok.append(export_summary(settings, say, "v2"))
    return all(ok)


def flag_story(settings: Settings, say: Say, flag: str = "order_size_band") -> bool:
    """The example ships ``fct_orders.order_size_band`` dark behind ``flag``: turning it on in
    prod is refused until its canary (v2's code with the flag off and on, same inputs, judged)
    has passed there; then it is turned on. Whether each step ended as meant."""
    say("")
    say(f"-- a dark transformation: {flag} ships off; its canary, then on in prod --")
    reason = ("--reason", "FIN-12: size bands for the finance report")
    ok = [cli(settings, say, "flag", "list", "prod", actor="dana") == 0]
    ok.append(cli(settings, say, "flag", "set", "prod", flag, "on", *reason, actor="dana") == 1)
    ok.append(cli(settings, say, "flag", "canary", flag, actor="dana") == 0)
    ok.append(cli(settings, say, "flag", "set", "prod", flag, "on", *reason, actor="dana") == 0)
    return all(ok)


def export_summary(settings: Settings, say: Say, release: str) -> bool:
    """Run `audit export --release <release>` and print the chain it gives, one line each."""
    with tempfile.TemporaryDirectory(prefix="ra-export-") as tmp:
        out = Path(tmp) / f"{release}.json"
        code = cli(
            settings,
            say,
            "audit",
            "export",
            "--release",
            release,
            "--output",
            str(out),
            actor="auditor-ada",
        )
        if code != 0 or not out.exists():
            return False
        data = json.loads(out.read_text())
    trail = data.get("trail") or {}
    say(
        f"  {release}: PRs {trail.get('pull_requests')}, commits "
        f"{[c[:10] for c in trail.get('commits', [])]}, artifact {trail.get('digests')}"
    )
    gates = ", ".join(f"{g['gate']} {g['verdict']}" for g in trail.get("gates", []))
    say(f"  gates: {gates}")
    for a in trail.get("approvals", []):
        say(f"  approved by {a['approver']} for {a['environment']} at {a['time']}")
    for env, actions in trail.get("environments", {}).items():
        for act in actions:
            say(
                f"  {env:8} {act['time']} {act['step'] or act['action']}: {act['outcome']} "
                f"by {act['actor']}"
                + (f" ({act['live_release']} live)" if act["live_release"] else "")
            )
    return True
