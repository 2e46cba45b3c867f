"""What a blue/green environment shows people: the serving color, each color's runtime and
warmth, and the last cutover (step metadata, `release-assets status`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from release_assets.runtimes.airflow.blue_green_state import other_color

if TYPE_CHECKING:
    from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow


def describe(target: BlueGreenAirflow) -> dict[str, Any]:
    """For status and step metadata: ``active`` color, each color's live release, runtime
    identity and warm/stopped state, and the ``last_cutover`` (None before the first)."""
    state = target.read_state()
    colors = {}
    for name, cs in state.colors.items():
        running = target.runtime.running(name, target.color(name))
        colors[name] = {
            "runtime": cs.runtime,
            "running": running,
            "live_release": target.color(name).live_release() if running else None,
            "warm_until": cs.warm_until if name != state.active else None,
        }
    last = state.last_cutover()
    return {"active": state.active, "colors": colors, "last_cutover": last and vars(last)}


def status_line(target: BlueGreenAirflow) -> str:
    """One line for `release-assets status`, e.g. ``airflow: green (cut over from blue at
    2026-12-01 14:02:11 UTC, 21.4 s); blue kept warm until 15:02:11 UTC``."""
    described = describe(target)
    active, last = described["active"], described["last_cutover"]
    line = f"airflow: {active}"
    if last is not None:
        at = datetime.fromisoformat(last["at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
        line += f" (cut over from {last['from_color']} at {at}, {last['total_s']:.1f} s)"
    other = described["colors"][other_color(active)]
    if other["running"] and other["warm_until"]:
        until = datetime.fromisoformat(other["warm_until"]).strftime("%H:%M:%S UTC")
        line += f"; {other_color(active)} kept warm until {until}"
    elif not other["running"]:
        line += f"; {other_color(active)} stopped"
    return line
