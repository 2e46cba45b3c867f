"""``python -m tests.aws_profile up|down|status [--root DIR]``: the AWS-shaped profile on this
machine (run from the checkout). ``--root`` defaults to ``<state dir>/aws-profile``; the
runtime virtualenvs come from the settings (``RELEASE_ASSETS_RUNTIMES_DIR``; ``make`` sets
the checkout's ``.state/runtimes``). Exit 1 with one line when something does not come up;
``status`` exits 3 when a server of the profile is not running."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

# The Snowflake connector's vendored requests warns about urllib3's version on import.
warnings.filterwarnings("ignore", message=r"urllib3 .* doesn't match a supported version")

from release_assets.settings import settings  # noqa: E402
from tests.aws_profile import stack, state  # noqa: E402
from tests.aws_profile.servers import ProfilePaths  # noqa: E402


def _print_status(root: Path) -> int:
    """Print each server's port, PID and memory; the number of servers not running."""
    paths = ProfilePaths(root.resolve())
    total = 0
    servers = state.status(root)
    for server in servers:
        port = str(server.port) if server.port else "-"
        pid = f"pid {server.pid}" if server.pid else "stopped"
        memory = f"{server.rss_bytes / 2**20:.0f} MiB" if server.pid else ""
        total += server.rss_bytes
        print(f"  {server.name:32} port {port:>5}  {pid:12} {memory}")
    print(f"  memory (RSS, every session): {total / 2**20:.0f} MiB")
    stopped = [server.name for server in servers if not server.pid]
    if not paths.deployment_file.exists():
        print("no deployment file: the profile is down (make aws-profile)")
    else:
        print(f"deployment file: {paths.deployment_file}")
        print(f"settings:        {paths.env_file}  (set -a; . FILE; set +a)")
    if stopped:
        print(f"not running: {', '.join(stopped)} (make aws-profile starts what is missing)")
    return len(stopped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.aws_profile")
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--root", type=Path, default=None, help="the profile's folder")
    args = parser.parse_args(argv)
    current = settings()
    root: Path = args.root or current.state_dir / "aws-profile"
    try:
        if args.command == "up":
            profile = stack.up(root, current.runtimes_dir)
            starts = ", ".join(f"{k} {v:.1f}s" for k, v in profile.start_s.items())
            print(f"AWS-shaped profile up in {profile.up_s:.0f}s ({starts})")
            for name, url in profile.endpoints.items():
                print(f"  {name:16} {url}")
            _print_status(root)
        elif args.command == "down":
            stopped = state.down(root)
            print(f"AWS-shaped profile down ({len(stopped)} process groups stopped)")
        elif _print_status(root):
            return 3
    except Exception as exc:  # one line for a person; the servers' logs hold the rest
        print(f"aws-profile {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
