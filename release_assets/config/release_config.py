"""Schema and loader for ``release.yaml``, the release configuration of a pipelines repository.

Loading validates every field and every path the file names; each problem is reported as
``release.yaml: <field path>: <what is wrong>`` so the author can fix all of them in one go.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from release_assets.config.approvals_config import ApprovalsConfig, approvals_problems
from release_assets.config.config_file import (
    ConfigFileError,
    config_problems,
    parse_yaml_mapping,
    read_config_text,
)
from release_assets.config.dbt_profiles import dbt_profile_problems
from release_assets.config.flags_config import FLAG_NAME_PATTERN, FeatureFlag, flag_problems
from release_assets.config.judge_config import JudgeConfig, judge_context, judge_problems
from release_assets.config.judge_config import Thresholds as Thresholds  # re-exported
from release_assets.config.monitor_config import MonitorSlos
from release_assets.config.validation_config import (
    ValidationConfig,
)

_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"
RelPath = Annotated[str, Field(min_length=1)]
# What each pattern of this file stands for, in the messages of a field that does not match.
PATTERN_HINTS = {
    _IDENT: "an identifier: letters, digits and _, not starting with a digit (e.g. shop_data)",
    _TABLE: "a table as schema.name (e.g. marts.fct_orders)",
    r"^[^@\s]+@[^@\s]+$": "an email address (e.g. data-team@example.com)",
    r"^2\.\d+\.\d+$": 'an Airflow 2 version as "2.x.y", quoted (e.g. "2.11.2")',
    r"^[A-Z_][A-Z0-9_]*$": "an environment variable name in capitals (e.g. DUCKDB_PATH)",
    r"^CKV2?_[A-Z0-9_]+$": "a checkov check id (e.g. CKV_AWS_20)",
    r"^B\d{3}$": "a bandit test id (e.g. B608)",
    FLAG_NAME_PATTERN: "a flag name: lower-case letters, digits and _, starting with a letter "
    "(e.g. order_size_band)",
}


class ReleaseConfigError(ConfigFileError):
    """``release.yaml`` is missing, unreadable or invalid; ``problems`` lists each fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owners(_Strict):
    default: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    teams: dict[str, Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = {}


class GitConfig(_Strict):
    main_branch: str = "main"
    tag_pattern: str = "v*"

    @field_validator("tag_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        re.compile(fnmatch.translate(value))
        return value


class AirflowConfig(_Strict):
    version: str = Field(pattern=r"^2\.\d+\.\d+$")
    dags_folder: RelPath = "dags"
    requirements: RelPath = "requirements.txt"
    # The constraints file the target environment installs with (MWAA, Astro: Airflow's
    # constraints-<python>.txt for this version); the requirements gate resolves with it.
    constraints: RelPath | None = None
    parse_timeout_seconds: float = Field(default=30.0, gt=0, le=600)


ENV_PLACEHOLDERS = frozenset(
    {"warehouse_path", "source_root", "lake_root", "scratch_root", "release_env", "release_id"}
)


class SyntheticData(_Strict):
    """A command of the pipelines repository that fills the dbt sources of validation's
    scratch warehouse with synthetic rows, so the dbt gate runs the data tests on them.

    ``command`` is an argument list (or one string, split as a shell would, without running a
    shell); its ``{placeholder}``s are those of ``dbt.env`` (``{warehouse_path}`` is the
    scratch warehouse). It runs from the repository root with the Airflow runtime's ``bin``
    first on ``PATH`` and the DAGs folder on ``PYTHONPATH``, as a task would, at most
    ``timeout_seconds``.
    """

    command: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    timeout_seconds: float = Field(default=300.0, gt=0, le=3600)

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return shlex.split(value) if isinstance(value, str) else value

    @field_validator("command")
    @classmethod
    def _known_command_placeholders(cls, value: list[str]) -> list[str]:
        unknown = {p for arg in value for p in re.findall(r"{(\w+)}", arg)} - ENV_PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)}; use {sorted(ENV_PLACEHOLDERS)}"
            )
        return value

    def render(self, values: dict[str, str]) -> list[str]:
        """The command with its placeholders replaced by ``values``."""
        return [arg.format(**values) for arg in self.command]


class DbtConfig(_Strict):
    project_dir: RelPath = "dbt"
    profiles_dir: RelPath = "dbt"
    profile: str = Field(pattern=_IDENT)
    targets: dict[str, str]
    # Environment variables dbt's profile and project read, as templates over the environment's
    # values, e.g. {NORTHSTAR_DUCKDB_PATH: "{warehouse_path}"}.
    env: dict[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")], str] = {}
    # Synthetic rows for the sources, so validation runs the data tests (None: the models are
    # built on empty sources only).
    synthetic_data: SyntheticData | None = None

    @field_validator("env")
    @classmethod
    def _known_placeholders(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            used = set(re.findall(r"{(\w+)}", template))
            unknown = used - ENV_PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"{name}: unknown placeholder(s) {sorted(unknown)}; "
                    f"use {sorted(ENV_PLACEHOLDERS)}"
                )
        return value

    def render_env(self, values: dict[str, str]) -> dict[str, str]:
        """The dbt environment for one environment's values."""
        return {name: template.format(**values) for name, template in self.env.items()}

    @field_validator("targets")
    @classmethod
    def _local_and_production(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"local", "production"} - value.keys()
        if missing:
            raise ValueError(f"needs a target for {sorted(missing)} (e.g. local: duckdb)")
        return value


class SparkJob(_Strict):
    name: str = Field(pattern=_IDENT)
    entrypoint: RelPath
    tests: RelPath | None = None


class SparkConfig(_Strict):
    jobs: list[SparkJob] = []


class TerraformConfig(_Strict):
    """Accepted for older release.yaml files; every folder holding a ``.tf`` file is validated
    whether it is listed here or not (``core.terraform_dirs``)."""

    modules: list[RelPath] = []


class ContractsConfig(_Strict):
    dir: RelPath = "contracts"


class TestsConfig(_Strict):
    dir: RelPath = "tests"
    requirements: RelPath | None = None


class CriticalTable(_Strict):
    """A table the canary judge compares (``release_assets.core.judge``): ``keys`` for the
    duplicate rate, ``partition_by`` (a date/timestamp column) for row counts per day,
    ``freshness_column`` (default: the first TIMESTAMP/DATE column), ``distribution_columns``
    (default: every numeric column that is not a key), its own ``thresholds``."""

    table: str = Field(pattern=_TABLE)
    keys: list[Annotated[str, Field(pattern=_IDENT)]] = Field(min_length=1)
    owner: str | None = None
    partition_by: str | None = Field(default=None, pattern=_IDENT)
    freshness_column: str | None = Field(default=None, pattern=_IDENT)
    distribution_columns: list[Annotated[str, Field(pattern=_IDENT)]] | None = None
    thresholds: Thresholds = Thresholds()
    # The post-release monitor's SLO (minutes; default: monitor.freshness_slo_minutes).
    freshness_slo_minutes: float | None = Field(default=None, gt=0)


class ReleaseConfig(_Strict):
    version: int = Field(ge=1, le=1)
    project: str = Field(pattern=_IDENT)
    owners: Owners
    git: GitConfig = GitConfig()
    airflow: AirflowConfig
    dbt: DbtConfig | None = None
    spark: SparkConfig = SparkConfig()
    terraform: TerraformConfig = TerraformConfig()
    contracts: ContractsConfig = ContractsConfig()
    tests: TestsConfig = TestsConfig()
    critical_tables: list[CriticalTable] = []
    judge: JudgeConfig = JudgeConfig()
    monitor: MonitorSlos = MonitorSlos()  # release_assets.config.monitor_config
    validation: ValidationConfig = ValidationConfig()
    approvals: ApprovalsConfig = ApprovalsConfig()
    # The flags this release ships (dark by default): release_assets.config.flags_config.
    feature_flags: list[FeatureFlag] = []

    def thresholds_for(self, table: str) -> Thresholds:
        """The judge's limits for ``table``: defaults, ``judge.thresholds``, the table's own."""
        own = next((e.thresholds for e in self.critical_tables if e.table == table), None)
        return Thresholds(**self.judge.limits(own).model_dump())

    def paths(self) -> dict[str, str]:
        """Every repository path the config names, keyed by its field path."""
        out = {
            "airflow.dags_folder": self.airflow.dags_folder,
            "airflow.requirements": self.airflow.requirements,
        }
        # Contracts and tests are optional: their default folders need not exist, a folder
        # named in release.yaml must.
        if "dir" in self.contracts.model_fields_set:
            out["contracts.dir"] = self.contracts.dir
        if "dir" in self.tests.model_fields_set:
            out["tests.dir"] = self.tests.dir
        if self.airflow.constraints is not None:
            out["airflow.constraints"] = self.airflow.constraints
        if self.tests.requirements is not None:
            out["tests.requirements"] = self.tests.requirements
        if self.dbt is not None:
            out["dbt.project_dir"] = self.dbt.project_dir
            out["dbt.profiles_dir"] = self.dbt.profiles_dir
        for i, job in enumerate(self.spark.jobs):
            out[f"spark.jobs[{i}].entrypoint"] = job.entrypoint
            if job.tests is not None:
                out[f"spark.jobs[{i}].tests"] = job.tests
        for i, module in enumerate(self.terraform.modules):
            out[f"terraform.modules[{i}]"] = module
        if self.validation.secrets.allowlist is not None:
            out["validation.secrets.allowlist"] = self.validation.secrets.allowlist
        return out


def _semantic_problems(config: ReleaseConfig, repo: Path) -> list[str]:
    problems: list[str] = []
    root = repo.resolve()
    for field, rel in config.paths().items():
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            problems.append(f"{field}: {rel!r} points outside the repository")
        elif not target.exists():
            problems.append(f"{field}: {rel!r} does not exist in {root}")
    seen: set[str] = set()
    for i, entry in enumerate(config.critical_tables):
        if entry.table in seen:
            problems.append(f"critical_tables[{i}].table: {entry.table!r} is listed twice")
        seen.add(entry.table)
        if entry.owner is not None and entry.owner not in config.owners.teams:
            teams = sorted(config.owners.teams) or ["(none declared)"]
            problems.append(
                f"critical_tables[{i}].owner: {entry.owner!r} is not a team in owners.teams "
                f"({', '.join(teams)})"
            )
    problems += approvals_problems(config.approvals, config.owners.teams, root)
    problems += flag_problems(config.feature_flags, config.owners.teams)
    names = [job.name for job in config.spark.jobs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"spark.jobs: job name {name!r} is used more than once")
    if config.dbt is not None:
        d = config.dbt
        problems += dbt_profile_problems(root, d.project_dir, d.profiles_dir, d.profile, d.targets)
    return problems


def parse_release_config(text: str, source: Path, repo: Path | None = None) -> ReleaseConfig:
    """Parse and validate release.yaml text; ``repo`` enables the path checks."""
    raw = parse_yaml_mapping(text, source, ReleaseConfigError)
    problems: list[str] = []
    if "regression" in raw:  # the section the canary judge replaced
        raw = {k: v for k, v in raw.items() if k != "regression"}
        problems.append(
            "regression: replaced by judge: move regression.defaults to judge.thresholds "
            "(see the judge section of docs/pipelines-repository.md)"
        )
    try:
        config = ReleaseConfig.model_validate(raw, context=judge_context(raw))
    except ValidationError as exc:
        problems += config_problems(exc, ReleaseConfig, PATTERN_HINTS)
        raise ReleaseConfigError(source, problems) from None
    own = {t.table: t.thresholds for t in config.critical_tables}
    problems += judge_problems(config.judge, own)
    if problems:
        raise ReleaseConfigError(source, problems)
    if repo is not None:
        problems = _semantic_problems(config, repo)
        if problems:
            raise ReleaseConfigError(source, problems)
    return config


def load_release_config(repo: Path) -> ReleaseConfig:
    """Load ``<repo>/release.yaml`` and validate it against the repository."""
    path = repo / "release.yaml"
    return parse_release_config(read_config_text(path, ReleaseConfigError), path, repo)
