"""Benchmark: blue/green cutover time on two real local Airflow 2.11 instances.

Blue runs from the example repository's runtime, green from it plus one package (built once
into the runtimes folder, then reused). Measures three cutovers, each as pause -> run boundary
-> unpause (what the cutover itself costs; ``total_s``) and as the whole ``activate`` call
(plus the new color parsing the release):
1. blue -> green with no run in flight;
2. green -> blue (a cut back, as a rollback does) while a 20 s run is in flight in green;
3. blue -> green again with no run in flight.
Ports 18520-18521 (log servers 18570-18571), a throwaway folder; everything it starts is
stopped. Usage: .venv/bin/python benchmarks/blue_green_cutover.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from release_assets.settings import CHECKOUT_ROOT, load_settings
from tests.runtimes.airflow.blue_green_real import EXTRA, Colors, write_bundle

RUN_S = 20


def main() -> None:
    os.environ.setdefault("RELEASE_ASSETS_RUNTIMES_DIR", str(CHECKOUT_ROOT / ".state" / "runtimes"))
    runtimes = load_settings().runtimes_dir
    with tempfile.TemporaryDirectory(prefix="ra-bench-bg-") as tmp:
        root = Path(tmp)
        colors = Colors(
            root / "prod",
            {"blue": 18520, "green": 18521},
            {"blue": 18570, "green": 18571},
        )
        try:
            v1 = write_bundle(root / "bundles", "v1", [])
            v2 = write_bundle(root / "bundles", "v2", [EXTRA])
            t0 = time.monotonic()
            colors.start_blue(runtimes, v1)
            prod = colors.blue_green(runtimes)
            prod.publish("v1", v1)
            prod.activate("v1")
            print(f"blue up and v1 live: {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
            prod.publish("v2", v2)
            print(
                f"v2 published to green (runtime ready, green started): "
                f"{time.monotonic() - t0:.1f} s"
            )
            steps = [
                ("blue -> green, no run in flight", "v2", None),
                (f"green -> blue (cut back), a {RUN_S} s run in flight", "v1", "report"),
                ("blue -> green again, no run in flight", "v2", None),
            ]
            for label, release, busy in steps:
                if release == "v1":
                    prod.publish("v1", v1)
                if busy:
                    prod.trigger(
                        busy, f"busy_{len(prod.read_state().cutovers)}", {"sleep_s": RUN_S}
                    )
                    time.sleep(8)  # let the run reach its task
                t0 = time.monotonic()
                prod.activate(release)
                call_s = time.monotonic() - t0
                cut = prod.read_state().cutovers[-1]
                print(
                    f"cutover {label}: pause -> run boundary -> unpause {cut.total_s:.2f} s "
                    f"(waiting for runs {cut.drain_s:.2f} s); activate() {call_s:.1f} s"
                )
        finally:
            colors.stop()


if __name__ == "__main__":
    main()
