"""The secrets sweep: given planted secret values, search every place a value could leak.

Places searched (each a ``Found.kind``):

- ``run tags`` and ``run config`` of every run of the Dagster instance;
- ``event log``: every event of every run, serialized whole (message, metadata values, the
  error and every cause's traceback of a failed step, check evaluations);
- ``step failure``: each failed step's error as Dagster renders it (``to_string()``);
- ``compute log``: the captured stdout and stderr of every step (Dagster's compute log
  manager);
- ``audit trail``: the raw text of every stored audit object (``AuditStore.entries()``);
- ``file``: every file under the given folders (the state directory: the release record
  store, the local audit trail, the Dagster instance's SQLite databases and log files);
- ``text``: any other text the caller captured (pytest's captured output, log records).

A value counts as found when it appears as is, JSON-escaped or ``repr``-escaped, or when
either half of a value of 16+ characters appears (a truncated leak). ``Found`` names the
secret by its label, never by its value, so a failing assertion prints no secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.compute_log_manager import ComputeIOType

from release_assets.runtimes.audit.base import AuditStore

_MIN_PART = 8


@dataclass(frozen=True)
class Found:
    """Secret ``secret`` (its label) appears in ``kind`` at ``place``."""

    secret: str
    kind: str
    place: str


def needles(value: str) -> list[str]:
    """The forms of ``value`` searched for: as is, JSON-escaped, repr-escaped and, for
    values of 16+ characters, each half."""
    forms = [value, json.dumps(value)[1:-1], repr(value)[1:-1]]
    if len(value) >= 2 * _MIN_PART:
        middle = len(value) // 2
        forms += [value[:middle], value[middle:]]
    return list(dict.fromkeys(f for f in forms if f))


class _Search:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        assert all(len(v) >= _MIN_PART for v in secrets.values()), "plant distinctive values"
        self.forms = {label: needles(value) for label, value in secrets.items()}
        self.found: list[Found] = []

    def text(self, kind: str, place: str, text: str) -> None:
        for label, forms in self.forms.items():
            if any(form in text for form in forms):
                self.found.append(Found(label, kind, place))

    def data(self, kind: str, place: str, data: bytes) -> None:
        for label, forms in self.forms.items():
            if any(form.encode() in data for form in forms):
                self.found.append(Found(label, kind, place))


def _files(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        if folder.is_file():
            yield folder
        elif folder.is_dir():
            yield from (p for p in sorted(folder.rglob("*")) if p.is_file())


def _sweep_instance(search: _Search, instance: dg.DagsterInstance) -> None:
    logs = instance.compute_log_manager
    for run in instance.get_runs():
        run_name = f"run {run.run_id[:8]} ({run.job_name})"
        search.text("run tags", run_name, json.dumps(dict(run.tags), default=str))
        search.text("run config", run_name, json.dumps(run.run_config, default=str))
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            what = f"{run_name} {event.event_type_value if event else 'log'} {entry.step_key}"
            search.text("event log", what, dg.serialize_value(entry))
            search.text("event log", what, f"{entry.user_message}\n{entry.message}")
            if event is not None and event.is_step_failure:
                error = event.step_failure_data.error
                if error is not None:
                    search.text("step failure", what, error.to_string())
        for io_type in (ComputeIOType.STDOUT, ComputeIOType.STDERR):
            for key in logs.get_log_keys_for_log_key_prefix([run.run_id, "compute_logs"], io_type):
                captured = logs.get_log_data(key)
                place = f"{run_name} {'/'.join(key[2:])} {io_type.value}"
                search.data(
                    "compute log", place, (captured.stdout or b"") + (captured.stderr or b"")
                )


def sweep(
    secrets: Mapping[str, str],
    *,
    instance: dg.DagsterInstance | None = None,
    audit: AuditStore | None = None,
    folders: Iterable[Path] = (),
    texts: Mapping[str, str] | None = None,
) -> list[Found]:
    """Where each of ``secrets`` (label -> planted value, 8+ characters) appears in the
    instance's runs, events and compute logs, the audit trail, the files under ``folders``
    and ``texts`` (name -> captured text). Empty when nothing leaked."""
    search = _Search(secrets)
    if instance is not None:
        _sweep_instance(search, instance)
    if audit is not None:
        for entry in audit.entries():
            search.text("audit trail", f"{audit.location} {entry.name}", entry.text)
    for path in _files(folders):
        search.data("file", str(path), path.read_bytes())
    for name, text in (texts or {}).items():
        search.text("text", name, text)
    return search.found
