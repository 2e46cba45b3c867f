"""The demo's stories after the releases v1 to v4: the controls as on-call and an auditor meet
them (``demo_controls``), the post-release monitor rolling v5 back by itself
(``demo_monitor``), and v6's requirements change going live by a blue/green cutover
(``demo_blue_green``). Each release is tagged and followed as ``demo.release_tag`` does for
v1 to v4."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from release_assets.cli import demo_blue_green, demo_monitor
from release_assets.cli.demo import Say, git, live_in_prod, release_tag
from release_assets.cli.demo_controls import on_call_story
from release_assets.cli.oncall import dagster_instance
from release_assets.local import color_runtime, environments
from release_assets.runtimes.airflow.blue_green_status import status_line
from release_assets.settings import Settings


def show_controls(settings: Settings, say: Say) -> list[str]:
    """The demo's second part, after the releases: the release controls
    (``demo_controls.on_call_story``), the post-release monitor (``show_monitor``) and
    blue/green (``show_blue_green``); the names of those that did not behave as the demo
    means to show (each said so where it happened), in that order."""
    with dagster_instance() as instance:
        controls = on_call_story(settings, say, instance)
        verdict = "as the demo expects" if controls else "NOT what the demo expects"
        say(f"release controls: {verdict}")
        results = {
            "release controls": controls,
            "post-release monitor (v5)": show_monitor(settings, say, instance),
            "blue/green (v6)": show_blue_green(settings, say, instance),
        }
    say("see what is live: .venv/bin/release-assets status; the UI: http://127.0.0.1:3000")
    return [story for story, ok in results.items() if not ok]


def release_on_v2(
    settings: Settings,
    say: Say,
    instance: dg.DagsterInstance,
    story: str,
    tag: str,
    change: Callable[[Path, Callable[[str], object]], None],
    message: str,
) -> bool:
    """Commit ``change`` (given the repository and a function taking a path back to its v2
    content: the releases after v2 that went live were rolled back), tag it ``tag`` and follow
    its release (``demo.release_tag``); whether it went live (else ``story`` says it did not)."""
    repo = Path(settings.git_repo)

    def on_v2(path: Path) -> None:
        change(path, lambda rel: git(path, "checkout", "-q", "v2", "--", rel))

    outcome = release_tag(
        settings, say, instance, set(git(repo, "tag").split()), (tag, on_v2, message)
    )
    if not (outcome.succeeded and outcome.went_live):
        say(f"{story}: NOT what the demo expects ({tag} did not go live)")
        return False
    return True


def _verdict(story: str, ok: bool, say: Say) -> bool:
    say(f"{story}: {'as the demo expects' if ok else 'NOT what the demo expects'}")
    return ok


def show_monitor(settings: Settings, say: Say, instance: dg.DagsterInstance) -> bool:
    """v5 (``demo_monitor.change_v5``: ingest_orders' schedule left as None) is released and
    goes live; then the post-release monitor rolls it back (``demo_monitor.monitor_story``).
    Whether both happened as the demo means to show."""
    story = "post-release monitor"
    say("")
    say("-- the post-release monitor: v5 leaves ingest_orders without a schedule --")
    tag, change, message = demo_monitor.TAG, demo_monitor.change_v5, demo_monitor.MESSAGE
    if not release_on_v2(settings, say, instance, story, tag, change, message):
        return False
    production = environments.deployment_of(settings).production
    ok = demo_monitor.monitor_story(instance, production, say, lambda: live_in_prod(settings))
    return _verdict(story, ok, say)


def show_blue_green(settings: Settings, say: Say, instance: dg.DagsterInstance) -> bool:
    """v6 (``demo_blue_green.change_v6``: humanize pinned in requirements.txt) is released and
    goes live by a cutover to prod's green Airflow; whether it did, as prod_swap recorded it
    and as the environment's colors show."""
    story = "blue/green"
    say("")
    say("-- blue/green: v6 changes requirements.txt --")
    tag, change, message = demo_blue_green.TAG, demo_blue_green.change_v6, demo_blue_green.MESSAGE
    if not release_on_v2(settings, say, instance, story, tag, change, message):
        return False
    meta = demo_blue_green.swap_metadata(instance, tag)
    ok = demo_blue_green.report_cutover(meta, say)
    production = environments.deployment_of(settings).production
    status = status_line(color_runtime.blue_green_for(settings, production))
    return _verdict(story, demo_blue_green.colors_line(status, say) and ok, say)
