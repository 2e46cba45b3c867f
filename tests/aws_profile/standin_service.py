"""The MWAA stand-in as a process of its own: ``python -m tests.aws_profile.standin_service
CONFIG`` serves ``tests.mwaa_standin.server.MwaaStandin`` on 127.0.0.1 and runs one
``DagsSync`` per environment (S3 DAGs prefix on moto -> the real Airflow's DAGs folder, every
``sync_interval_s``), until SIGTERM.

``CONFIG`` (JSON, written by ``stack.py``): ``port``, ``region``, ``moto`` (moto's endpoint),
``sync_interval_s``, and ``environments``: a list of ``{name, bucket, prefix, airflow_url,
credentials_file, dags_folder, record_file, requirements_path, requirements_version}``.
``credentials_file`` is the Airflow's ``credentials.json`` (``EnvironmentLayout``); it is read
here, never copied into the configuration. ``record_file`` holds ``{"status": ...}``, re-read
every second, so a test plays an environment update by writing ``UPDATING`` there
(``stack.set_mwaa_status``).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.runtimes.aws import AwsClients
from tests.mwaa_standin.server import MwaaStandin, StandinEnvironment
from tests.mwaa_standin.sync import DagsSync

RECORD_POLL_S = 1.0


def _environment(entry: dict[str, Any]) -> StandinEnvironment:
    creds = json.loads(Path(entry["credentials_file"]).read_text())
    return StandinEnvironment(
        name=entry["name"],
        bucket=entry["bucket"],
        dags_prefix=entry["prefix"],
        airflow_url=entry["airflow_url"],
        credentials=(creds["username"], creds["password"]),
        requirements_path=entry.get("requirements_path"),
        requirements_version=entry.get("requirements_version"),
    )


def _follow_records(standin: MwaaStandin, records: dict[str, Path], stop: threading.Event) -> None:
    while not stop.wait(RECORD_POLL_S):
        for name, path in records.items():
            with contextlib.suppress(OSError, ValueError, KeyError):
                standin.environments[name].status = str(json.loads(path.read_text())["status"])


def serve(config: dict[str, Any]) -> None:
    """Serve until SIGTERM or SIGINT."""
    region = str(config["region"])
    s3 = AwsClients.of(AwsConnectionSpec(region=region, endpoint_url=config["moto"])).client("s3")
    standin = MwaaStandin(int(config["port"]), region)
    syncs: list[DagsSync] = []
    records: dict[str, Path] = {}
    for entry in config["environments"]:
        env = _environment(entry)
        standin.environments[env.name] = env
        records[env.name] = Path(entry["record_file"])
        syncs.append(
            DagsSync(
                s3,
                env.bucket,
                env.dags_prefix,
                Path(entry["dags_folder"]),
                interval_s=float(config.get("sync_interval_s", 2.0)),
            )
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    standin.start()
    for sync in syncs:
        sync.start()
    follower = threading.Thread(target=_follow_records, args=(standin, records, stop), daemon=True)
    follower.start()
    print(f"MWAA stand-in on {standin.endpoint}: {', '.join(records)}", flush=True)
    while not stop.wait(1.0):
        pass
    for sync in syncs:
        sync.stop()
    standin.stop()


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1]).read_text()))
