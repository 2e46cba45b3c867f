"""What a blue/green Airflow environment remembers between steps: which color is active, the
runtime each color runs, which color each release was published to, and the cutovers.

Kept as one small JSON document by a state store (``blue_green_store``): locally a file beside
the environment, written atomically (a temporary file renamed over it) under the file's lock;
on MWAA an S3 object that the platform's runs and on-call both read. Every read-modify-write
holds the store's lock, so two release steps never interleave their updates.

A release's *runtime identity* (``runtime_identity``) is what a color must run for the release:
a hash of the Airflow version its ``release.yaml`` pins, its requirement lines, the constraints
files those name (``airflow.constraints`` and ``-c`` lines) and its ``plugins/`` folder, read from
the release's bundle. Two releases with the same identity run in the same Airflow.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from release_assets.config.release_config import AirflowConfig
from release_assets.runtimes.airflow.types import AirflowError
from release_assets.runtimes.airflow.venv import _constraint_texts as constraint_texts
from release_assets.runtimes.airflow.venv import requirement_lines, runtime_key

COLORS = ("blue", "green")


class BlueGreenError(AirflowError):
    """The blue/green state file or a release bundle's runtime cannot be read; the message
    names the file."""


def other_color(color: str) -> str:
    """``"blue"`` -> ``"green"`` and back."""
    return COLORS[1 - COLORS.index(color)]


def _plugins_digest(plugins: Path) -> str:
    """SHA-256 over every file of ``plugins`` (relative path and bytes); "" without the folder."""
    if not plugins.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in plugins.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(plugins).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def bundle_airflow(bundle_dir: Path) -> AirflowConfig:
    """The ``airflow:`` block of the bundle's ``release.yaml`` (a bundle holds only what
    releases need, so the rest of the file is not checked against it). Raises
    ``BlueGreenError`` naming the file when the block is missing or invalid."""
    path = bundle_dir / "release.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
        return AirflowConfig.model_validate(raw["airflow"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValidationError) as exc:
        detail = str(exc).splitlines()[0]
        raise BlueGreenError(f"{path}: no valid airflow block ({detail})") from None


def runtime_identity(bundle_dir: Path) -> str:
    """The runtime identity of the release bundle at ``bundle_dir`` (16 hex characters).

    Equal to the runtime venv's key (``venv.runtime_key``) when the bundle has no plugins, so a
    runtime built from the bundle lives in ``<runtimes>/<identity>``. Raises
    ``BlueGreenError`` (``bundle_airflow``), ``FileNotFoundError`` when its requirements file
    is missing."""
    airflow = bundle_airflow(bundle_dir)
    requirements = bundle_dir / airflow.requirements
    constraints = bundle_dir / airflow.constraints if airflow.constraints else None
    # A missing constraints file counts by its path inside the bundle, not where it was unpacked.
    texts = [
        t.replace(str(bundle_dir), "<bundle>") if t.startswith("missing ") else t
        for t in constraint_texts(requirements, constraints)
    ]
    key = runtime_key(airflow.version, requirement_lines(requirements), texts)
    plugins = _plugins_digest(bundle_dir / "plugins")
    if not plugins:
        return key
    return hashlib.sha256(f"{key}\nplugins={plugins}".encode()).hexdigest()[:16]


@dataclass
class ColorState:
    """One color: ``runtime`` the identity it runs (None: not known yet), ``warm_until`` (ISO
    UTC) when a color that was cut away from may be stopped, ``stopped`` when the keep-warm
    window ended and it was stopped."""

    runtime: str | None = None
    warm_until: str | None = None
    stopped: bool = False


@dataclass
class Cutover:
    """One cutover: ``release`` made live in ``to_color`` in place of ``replaced`` (live in
    ``from_color``); ``at`` (ISO UTC) when it completed; ``drain_s`` how long it waited for the
    old color's runs in flight; ``total_s`` first pause -> last unpause (seconds)."""

    release: str
    replaced: str | None
    from_color: str
    to_color: str
    at: str
    drain_s: float
    total_s: float

    def completed_since(self, since: datetime) -> bool:
        """Whether it completed at or after ``since`` (aware); an unreadable ``at`` counts as
        since (a reader then reads one color more, which is harmless)."""
        try:
            when = datetime.fromisoformat(self.at.replace("Z", "+00:00"))
        except ValueError:
            return True
        return (when if when.tzinfo else when.replace(tzinfo=UTC)) >= since


@dataclass
class BlueGreenState:
    """The state file's content: ``active`` color, ``colors`` (name -> ColorState),
    ``releases`` (release -> ``{"color": ..., "runtime": ...}``, where it was last published and
    for which runtime) and ``cutovers`` (oldest first)."""

    active: str = "blue"
    colors: dict[str, ColorState] = field(default_factory=lambda: {c: ColorState() for c in COLORS})
    releases: dict[str, dict[str, str]] = field(default_factory=dict)
    cutovers: list[Cutover] = field(default_factory=list)

    @property
    def standby(self) -> str:
        return other_color(self.active)

    def color_of(self, release: str) -> str | None:
        """The color ``release`` was last published to (None: never published here)."""
        entry = self.releases.get(release)
        return entry["color"] if entry else None

    def last_cutover(self) -> Cutover | None:
        return self.cutovers[-1] if self.cutovers else None


def parse_state(text: str, where: str) -> BlueGreenState:
    """The state held in ``text`` (JSON, as ``dump_state`` writes it) read from ``where`` (a
    path or an ``s3://`` URL, for messages). Raises ``BlueGreenError`` naming ``where`` when it
    is not a state."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BlueGreenError(f"blue/green state {where} is unreadable ({exc}); repair it") from None
    try:
        return BlueGreenState(
            active=str(raw["active"]),
            colors={c: ColorState(**raw["colors"].get(c, {})) for c in COLORS},
            releases={str(k): dict(v) for k, v in raw.get("releases", {}).items()},
            cutovers=[Cutover(**c) for c in raw.get("cutovers", [])],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise BlueGreenError(f"blue/green state {where} is not a state file ({exc})") from None


def dump_state(state: BlueGreenState) -> str:
    """``state`` as JSON text (keys sorted, one trailing newline)."""
    return json.dumps(asdict(state), indent=2, sort_keys=True) + "\n"


def load_state(path: Path) -> BlueGreenState:
    """The state at ``path`` (a fresh one, blue active, when the file does not exist). Raises
    ``BlueGreenError`` naming the file when it is not a state file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return BlueGreenState()
    except OSError as exc:
        raise BlueGreenError(f"blue/green state {path} is unreadable ({exc}); repair it") from None
    return parse_state(text, str(path))


def save_state(path: Path, state: BlueGreenState) -> None:
    """Write ``state`` to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(dump_state(state))
    tmp.replace(path)


def utc_now() -> datetime:
    return datetime.now(UTC)
