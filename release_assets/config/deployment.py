"""Schema and loader for the deployment configuration, written by the platform engineer.

It lists the environments releases are promoted through, in order, and for each the runtime
implementations (Airflow, warehouse, artifact store, secrets backend, feature-flag store), plus
which environment is production and which one hosts a release's integration run. It is kept
apart from the team's ``release.yaml``. Secret values never appear in it, only references
(:class:`SecretRef`). Loading validates every field and reports each problem as
``<field path>: <what is wrong>`` under a header naming the file, as ``release.yaml`` does.
The file reference is docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from release_assets.config.airflow_specs import Airflow3Spec, SelfHostedAirflowSpec
from release_assets.config.blue_green_specs import BlueGreenAirflowSpec, BlueGreenSpec
from release_assets.config.config_file import (
    ConfigFileError,
    field_path,
    parse_yaml_mapping,
    read_config_text,
)
from release_assets.config.deployment_specs import (
    ArtifactStoreSpec,
    AuditStoreSpec,
    DuckDBWarehouseSpec,
    EnvSecretsSpec,
    FeatureFlagsSpec,
    LocalAirflowSpec,
    LocalAuditStoreSpec,
    LocalFileFlagsSpec,
    SecretsSpec,
)
from release_assets.config.monitor_config import MonitorPolicy
from release_assets.config.mwaa_locations import shared_dags_prefixes
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.config.promotion import PromotionPolicy
from release_assets.config.secret_refs import RUNTIME_FIELDS, mismatched_refs
from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec
from release_assets.config.spark_specs import LocalSparkSpec, SparkSpec
from release_assets.settings import LOCAL_DEPLOYMENT as LOCAL_DEPLOYMENT

# The per-environment unions whose specs import deployment_specs, discriminated on `kind`.
AirflowSpec = Annotated[
    LocalAirflowSpec | SelfHostedAirflowSpec | Airflow3Spec | MwaaAirflowSpec | BlueGreenSpec,
    Field(discriminator="kind"),
]
WarehouseSpec = Annotated[DuckDBWarehouseSpec | SnowflakeWarehouseSpec, Field(discriminator="kind")]

# The environment variable naming the deployment file (read by release_assets.settings).
DEPLOYMENT_ENV_VAR = "RELEASE_ASSETS_DEPLOYMENT"

# Error types reported without the offending value: a secret may have been pasted there.
_HIDE_INPUT = frozenset(
    {"missing", "extra_forbidden", "secret_value", "secret_ref", "deployment"}
    | {"union_tag_invalid", "union_tag_not_found"}
)


class DeploymentConfigError(ConfigFileError):
    """The deployment file is missing, unreadable or invalid.

    ``path`` is the file; ``problems`` lists each fault as ``<field path>: <what is wrong>``;
    ``str()`` is a header naming the file followed by one line per problem.
    """


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvironmentSpec(_Strict):
    """One deploy target and the implementation of each of its runtimes.

    ``artifact_store`` None means the deployment's ``artifact_store``; ``secrets`` defaults to
    environment variables, ``feature_flags`` to a local file and ``spark`` to ``spark-submit``
    in local mode; ``promotion`` is what the
    environment needs before it may receive a release (soak time, approvals; default none).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    description: str = ""
    airflow: AirflowSpec
    warehouse: WarehouseSpec
    artifact_store: ArtifactStoreSpec | None = None
    secrets: SecretsSpec = EnvSecretsSpec(kind="env")
    feature_flags: FeatureFlagsSpec = LocalFileFlagsSpec(kind="local_file")
    spark: SparkSpec = LocalSparkSpec(kind="local")
    promotion: PromotionPolicy = PromotionPolicy()
    monitor: MonitorPolicy = MonitorPolicy()  # the post-release monitor (config.monitor_config)


def _fault(loc: tuple[int | str, ...], message: str, value: object) -> InitErrorDetails:
    # No context: braces in the message (or in a user's value) are never formatted.
    return InitErrorDetails(type=PydanticCustomError("deployment", message), loc=loc, input=value)


def _port_faults(
    i: int,
    name: str,
    spec: LocalAirflowSpec,
    taken: dict[int, str],
    where: tuple[str, ...] = ("airflow",),
) -> list[InitErrorDetails]:
    """Faults for a local Airflow whose port or log server port is taken (``taken``: port ->
    ``"the Airflow port of environment 'x'"``, filled as environments are read) or whose
    default log server port (Airflow port + 700) is out of range."""
    faults: list[InitErrorDetails] = []
    log_port = spec.effective_log_server_port
    wanted = [
        ("port", spec.port, "the Airflow port"),
        ("log_server_port", log_port, "the log server port"),
    ]
    if log_port > 65535:
        faults.append(
            _fault(
                ("environments", i, *where, "log_server_port"),
                f"the default log server port (Airflow port {spec.port} + 700) is above "
                "65535; set log_server_port",
                spec.port,
            )
        )
        wanted = wanted[:1]
    for field, port, role in wanted:
        implicit = field == "log_server_port" and spec.log_server_port is None
        if port in taken and not (implicit and faults):  # a default follows the port's fault
            default = " (the default: Airflow port + 700)" if implicit else ""
            faults.append(
                _fault(
                    ("environments", i, *where, field),
                    f"{port}{default} is already {taken[port]}; each local Airflow needs "
                    "its own port and log server port",
                    port,
                )
            )
        note = " (its default: Airflow port + 700)" if implicit else ""
        taken.setdefault(port, f"{role} of environment {name!r}{note}")
    return faults


class Deployment(_Strict):
    """The environments in promotion order and which of them is production.

    After validation ``integration`` is always set (default: the environment just before
    ``production``). Names are unique, local Airflow ports distinct, and every secret
    reference of an environment's runtimes has the form its secrets backend resolves
    (``secret_refs``).
    """

    version: Literal[1]
    production: str
    integration: str | None = None
    artifact_store: ArtifactStoreSpec
    audit_store: AuditStoreSpec = LocalAuditStoreSpec(kind="local")
    environments: list[EnvironmentSpec] = Field(min_length=2)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        faults: list[InitErrorDetails] = []
        first: dict[str, int] = {}
        ports: dict[int, str] = {}  # port -> "the Airflow port of environment 'x'"
        for i, env in enumerate(self.environments):
            if env.name in first:
                faults.append(
                    _fault(
                        ("environments", i, "name"),
                        f"{env.name!r} is already the name of environments[{first[env.name]}]; "
                        "environment names must be unique",
                        env.name,
                    )
                )
            first.setdefault(env.name, i)
            if isinstance(env.airflow, LocalAirflowSpec):
                faults.extend(_port_faults(i, env.name, env.airflow, ports))
            if isinstance(env.airflow, BlueGreenAirflowSpec):
                for color, spec in env.airflow.colors().items():
                    faults.extend(_port_faults(i, env.name, spec, ports, ("airflow", color)))
            runtimes = {name: getattr(env, name) for name in RUNTIME_FIELDS}
            for path, message in mismatched_refs(env.secrets.kind, runtimes):
                faults.append(_fault(("environments", i, *path), message, None))
        for where, message in shared_dags_prefixes(e.airflow for e in self.environments):
            faults.append(_fault(where, message, None))
        order = ", ".join(first)
        prod = first.get(self.production)
        if prod is None:
            faults.append(
                _fault(
                    ("production",),
                    f"{self.production!r} is not an environment of this deployment "
                    f"(environments, in promotion order: {order})",
                    self.production,
                )
            )
        integration = self.integration
        if integration is not None and integration not in first:
            faults.append(
                _fault(
                    ("integration",),
                    f"{integration!r} is not an environment of this deployment "
                    f"(environments, in promotion order: {order})",
                    integration,
                )
            )
        elif integration is not None and prod is not None and first[integration] >= prod:
            faults.append(
                _fault(
                    ("integration",),
                    f"{integration!r} must come before production {self.production!r} in "
                    f"environments (promotion order: {order})",
                    integration,
                )
            )
        elif integration is None and prod == 0:
            faults.append(
                _fault(
                    ("production",),
                    f"{self.production!r} is the first environment, so none comes before it "
                    "to host a release's staging deployment and integration run; list at "
                    "least one environment before production",
                    self.production,
                )
            )
        if faults:
            raise ValidationError.from_exception_data("Deployment", faults)
        if integration is None and prod is not None:
            # Frozen model: fill the default in place, once, during validation.
            self.__dict__["integration"] = self.environments[prod - 1].name
        return self

    @property
    def names(self) -> list[str]:
        """Environment names in promotion order."""
        return [env.name for env in self.environments]

    def environment(self, name: str) -> EnvironmentSpec:
        """The environment called ``name``; raises ``KeyError`` naming the known ones."""
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(self.names)
        raise KeyError(f"unknown environment {name!r}; configured environments: {known}")

    @property
    def production_env(self) -> EnvironmentSpec:
        """The environment releases go live in."""
        return self.environment(self.production)

    @property
    def integration_env(self) -> EnvironmentSpec:
        """The environment of a release's staging deployment and integration run."""
        if self.integration is not None:
            return self.environment(self.integration)
        return self.environments[self.names.index(self.production) - 1]

    def resolved(self, state_dir: Path) -> Deployment:
        """A copy with every path default filled in, ``{state_dir}`` and ``~`` expanded and
        relative paths taken against ``state_dir``: every path absolute. Each environment's
        ``artifact_store`` is set (to the deployment's when it had none); ``audit_store``'s
        root defaults to ``{state_dir}/audit``."""
        root = state_dir.expanduser().resolve()
        store = self.artifact_store.resolve(root)
        environments = [
            env.model_copy(
                update={
                    "airflow": env.airflow.resolve(root, env.name),
                    "warehouse": env.warehouse.resolve(root, env.name),
                    "artifact_store": env.artifact_store.resolve(root)
                    if env.artifact_store is not None
                    else store,
                    "secrets": env.secrets.resolve(root, env.name),
                    "feature_flags": env.feature_flags.resolve(root, env.name),
                    "spark": env.spark.resolve(root, env.name),
                }
            )
            for env in self.environments
        ]
        return self.model_copy(
            update={
                "artifact_store": store,
                "audit_store": self.audit_store.resolve(root),
                "environments": environments,
            }
        )


def _untagged(loc: tuple[int | str, ...], raw: Any) -> tuple[int | str, ...]:
    """``loc`` without the ``kind`` tags pydantic inserts below a discriminated union (it
    reports ``airflow.local.port``; the file has ``airflow.port``)."""
    out: list[int | str] = []
    node, tagged = raw, None
    for part in loc:
        if isinstance(node, dict) and node is not tagged and node.get("kind") == part:
            tagged = node
            continue
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _problem(err: ErrorDetails, raw: Any) -> str:
    # The consistency checks' own faults name model fields (no tags to take out: a field may
    # share its name with its block's kind, as ``auth: {kind: token, token: ...}``).
    loc = err["loc"] if err["type"] == "deployment" else _untagged(err["loc"], raw)
    message = err["msg"]
    ctx = err.get("ctx", {})
    if err["type"] == "union_tag_invalid":
        loc, message = (
            (*loc, "kind"),
            f"unknown kind {ctx['tag']!r} (known: {ctx['expected_tags']})",
        )
    elif err["type"] == "union_tag_not_found":
        loc, message = (*loc, "kind"), "Field required (every runtime names its kind)"
    elif err["type"] in ("model_attributes_type", "model_type"):
        message = "expected a mapping of fields"
    shown = err["input"]
    simple = isinstance(shown, int | float | bool)
    # Only numbers are repeated (a port): a string could be a pasted credential, a list or
    # mapping a whole section.
    got = f" (got {shown!r})" if simple and err["type"] not in _HIDE_INPUT else ""
    return f"{field_path(loc)}: {message}{got}"


def deployment_problems(exc: ValidationError, raw: Any) -> list[str]:
    """One ``<field path>: <what is wrong>`` line per error of validating ``raw`` (the parsed
    YAML) against a deployment-file model; values are not echoed where a secret may be."""
    return [_problem(err, raw) for err in exc.errors(include_url=False)]


def parse_deployment(text: str, path: Path) -> Deployment:
    """Parse and validate deployment-file text; ``path`` names the file in errors.

    Raises :class:`DeploymentConfigError` listing every fault (bad YAML, wrong field, unknown
    kind, literal secret value, inconsistent environments).
    """
    raw = parse_yaml_mapping(text, path, DeploymentConfigError)
    try:
        return Deployment.model_validate(raw)
    except ValidationError as exc:
        raise DeploymentConfigError(path, deployment_problems(exc, raw)) from None


def load_deployment(path: Path) -> Deployment:
    """Load and validate the deployment file at ``path`` (paths not yet resolved: see
    :meth:`Deployment.resolved`). Raises :class:`DeploymentConfigError` naming the file, also
    when it is missing or unreadable."""
    return parse_deployment(read_config_text(path, DeploymentConfigError), path)
