"""The demo's stories after the releases v1 to v4: the controls as on-call and an auditor meet
them (``demo_controls``), the post-release monitor rolling v5 back by itself
(``demo_monitor``), and v6's requirements change going live by a blue/green cutover
(``demo_blue_green``). Each release is tagged and followed as ``demo.release_tag`` does for
v1 to v4."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from release_assets.cli import demo_blue_green, demo_monitor
from release_assets.cli.demo import Say, git, live_in_prod, release_tag
from release_assets.cli.demo_controls import on_call_story
from release_assets.local import color_runtime, environments
from release_assets.runtimes.airflow.blue_green_status import status_line
from release_assets.settings import Settings


def show_controls(settings: Settings, say: Say) -> bool:
    """The demo's second part, after the releases (``demo_controls.on_call_story``), then its
    last story (``show_monitor``); whether every control behaved as the demo means to show."""
    with dg.DagsterInstance.get() as instance:
        controls = on_call_story(settings, say, instance)
        verdict = "as the demo expects" if controls else "NOT what the demo expects"
        say(f"release controls: {verdict}")
        monitored = show_monitor(settings, say, instance)
        cut_over = show_blue_green(settings, say, instance)
    say("see what is live: .venv/bin/release-assets status; the UI: http://127.0.0.1:3000")
    return controls and monitored and cut_over


def show_monitor(settings: Settings, say: Say, instance: dg.DagsterInstance) -> bool:
    """v5 (``demo_monitor.change_v5``: ingest_orders' schedule left as None) is released and
    goes live; then the post-release monitor rolls it back (``demo_monitor.monitor_story``).
    Whether both happened as the demo means to show."""
    say("")
    say("-- the post-release monitor: v5 leaves ingest_orders without a schedule --")
    repo = Path(settings.git_repo)

    def change_v5(path: Path) -> None:
        demo_monitor.change_v5(path, lambda rel: git(path, "checkout", "-q", "v2", "--", rel))

    step = (demo_monitor.TAG, change_v5, demo_monitor.MESSAGE)
    outcome = release_tag(settings, say, instance, set(git(repo, "tag").split()), step)
    if not (outcome.succeeded and outcome.went_live):
        say("post-release monitor: NOT what the demo expects (v5 did not go live)")
        return False
    production = environments.deployment_of(settings).production
    ok = demo_monitor.monitor_story(instance, production, say, lambda: live_in_prod(settings))
    say(f"post-release monitor: {'as the demo expects' if ok else 'NOT what the demo expects'}")
    return ok


def show_blue_green(settings: Settings, say: Say, instance: dg.DagsterInstance) -> bool:
    """v6 (``demo_blue_green.change_v6``: humanize pinned in requirements.txt) is released and
    goes live by a cutover to prod's green Airflow; whether it did, as prod_swap recorded it
    and as the environment's colors show."""
    say("")
    say("-- blue/green: v6 changes requirements.txt --")
    repo = Path(settings.git_repo)

    def change_v6(path: Path) -> None:
        demo_blue_green.change_v6(path, lambda rel: git(path, "checkout", "-q", "v2", "--", rel))

    step = (demo_blue_green.TAG, change_v6, demo_blue_green.MESSAGE)
    outcome = release_tag(settings, say, instance, set(git(repo, "tag").split()), step)
    if not (outcome.succeeded and outcome.went_live):
        say("blue/green: NOT what the demo expects (v6 did not go live)")
        return False
    meta = demo_blue_green.swap_metadata(instance, demo_blue_green.TAG)
    ok = demo_blue_green.report_cutover(meta, say)
    production = environments.deployment_of(settings).production
    status = status_line(color_runtime.blue_green_for(settings, production))
    ok = demo_blue_green.colors_line(status, say) and ok
    say(f"blue/green: {'as the demo expects' if ok else 'NOT what the demo expects'}")
    return ok
