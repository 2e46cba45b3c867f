"""Benchmark: time of `local up` (cold and warm), `down`, and memory of the running stack.

Runs against a throwaway state directory on ports 18181/18182 and stops everything it starts.
Usage: .venv/bin/python benchmarks/local_up.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from release_assets.local import airflow_instance, stack
from release_assets.runtimes import processes
from release_assets.settings import CHECKOUT_ROOT, load_settings


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ra-bench-") as tmp:
        os.environ.update(
            RELEASE_ASSETS_STATE_DIR=str(Path(tmp) / "state"),
            RELEASE_ASSETS_RUNTIMES_DIR=str(CHECKOUT_ROOT / ".state" / "runtimes"),
            RELEASE_ASSETS_STAGING_AIRFLOW_PORT="18181",
            RELEASE_ASSETS_PROD_AIRFLOW_PORT="18182",
        )
        settings = load_settings()
        t0 = time.monotonic()
        stack.runtime_for(settings)
        runtime_s = time.monotonic() - t0
        try:
            t0 = time.monotonic()
            stack.up(settings)
            cold_s = time.monotonic() - t0
            time.sleep(10)  # let the schedulers settle before reading memory
            rss = 0
            for layout in stack.layouts(settings):
                for proc in airflow_instance.running(layout).values():
                    if proc is not None:
                        rss += processes.session_rss_bytes(proc.pid)
            t0 = time.monotonic()
            stack.down(settings)
            down_s = time.monotonic() - t0
            t0 = time.monotonic()
            stack.up(settings)
            warm_s = time.monotonic() - t0
        finally:
            stack.down(settings)
    print(f"runtime venv (cached)        {runtime_s:6.1f} s")
    print(f"local up, cold (new state)   {cold_s:6.1f} s")
    print(f"local up, warm (after down)  {warm_s:6.1f} s")
    print(f"local down                   {down_s:6.1f} s")
    print(f"memory of both environments  {rss / 2**30:6.2f} GiB (RSS, sum over processes)")


if __name__ == "__main__":
    main()
