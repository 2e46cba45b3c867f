"""The MWAA part of an environment role (``core.iam_policies``): a plain ``kind: mwaa``
environment, or the two MWAA environments (colors) of a ``kind: blue_green`` one.

Every MWAA environment the role drives gets its DAGs prefix (in ``iam_policies``),
``airflow:GetEnvironment``, ``airflow:InvokeRestApi`` as the Airflow role ``Op`` and read of
the requirements/plugins objects it runs. A blue/green environment's colors also get what
``runtimes/airflow/mwaa_color_runtime.py`` and ``blue_green_store.py`` do:

- ``airflow:UpdateEnvironment`` on both environments. The caller needs nothing else for the
  update the runtime makes (``RequirementsS3Path``/``...ObjectVersion``,
  ``PluginsS3Path``/``...ObjectVersion``, ``AirflowVersion``): the Service Authorization
  Reference for Amazon MWAA (``airflow`` prefix) lists UpdateEnvironment with the
  ``environment`` resource and no dependent action; ``iam:PassRole`` (to
  ``airflow.amazonaws.com``, as in the MWAA User Guide's ``AmazonMWAAFullApiAccess`` policy) is
  only evaluated when a request passes a role, i.e. ``ExecutionRoleArn``, which the runtime
  never sends; MWAA reads the new objects with the environment's execution role (MWAA User
  Guide, "Amazon MWAA execution role"), not the caller's. So no ``iam:PassRole`` and no
  further S3 access is granted for the update.
- ``s3:PutObject``, ``GetObject``, ``GetObjectVersion`` on ``requirements_key`` and
  ``plugins_key`` in each color's source bucket (the upload, and reading it back).
- The state object and its lease ``<key>.lock``: ``s3:GetObject``; ``s3:PutObject`` only with
  ``If-None-Match`` or ``If-Match`` (every write of the store is conditional: a plain put,
  which could overwrite a newer state, is not allowed); ``s3:DeleteObject`` of the lease only
  (releasing it); ``s3:ListBucket`` on the state's bucket, without which S3 answers a
  missing key with 403 instead of 404 (S3 API Reference, GetObject "Permissions"), so that
  the first read of a state or lease that does not exist yet is not an access error.

A plain ``kind: mwaa`` environment gets no ``UpdateEnvironment``: a release that needs an
environment update is refused and a person applies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from release_assets.core.iam_statements import S3Location, statement

MWAA_AIRFLOW_ROLE = "Op"
"""The Airflow role the REST calls run as on MWAA (``airflow:InvokeRestApi`` is granted per
Airflow role): Op triggers, pauses and reads DAG runs without administering users."""
STATE_READ = ["s3:GetObject"]
STATE_WRITE = ["s3:PutObject"]
UPLOAD = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
RUNTIME_READ = ["s3:GetObject", "s3:GetObjectVersion"]


@dataclass(frozen=True)
class MwaaColor:
    """One MWAA environment a role drives: ``environment`` (MWAA's name), ``dags`` (its source
    bucket and ``DagS3Path``), ``runtime_keys`` (keys in ``dags.bucket`` of the requirements
    and plugins objects it runs, read at a version), ``region`` (when not the environment's)."""

    environment: str
    dags: S3Location
    runtime_keys: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True)
class MwaaBlueGreen:
    """The MWAA colors of a ``kind: blue_green`` environment: ``colors`` (blue, green),
    ``upload_keys`` (``requirements_key``, ``plugins_key``: written in the standby's source
    bucket before its update), ``state_bucket``/``state_key`` (the state object; its lease is
    ``<state_key>.lock``)."""

    colors: tuple[MwaaColor, ...]
    upload_keys: tuple[str, ...]
    state_bucket: str
    state_key: str

    @property
    def lock_key(self) -> str:
        return f"{self.state_key}.lock"


def mwaa_arns(
    colors: Iterable[MwaaColor],
    blue_green: MwaaBlueGreen | None,
    region: str,
    account: str,
    partition: str = "aws",
) -> dict[str, list[str]]:
    """What a role may reach of ``colors`` (every MWAA environment it drives) and of
    ``blue_green``, by kind: ``mwaa_env`` (environment ARNs), ``mwaa_rest`` (their ``Op``
    role), ``mwaa_runtime`` (requirements/plugins objects read), ``mwaa_update`` (environments
    it may update), ``mwaa_upload`` (objects it uploads), ``mwaa_state`` (the state object and
    its lease), ``mwaa_lease`` (the lease alone). Kinds with nothing are left out; ``region``
    is the one of a color that names none."""
    arns: dict[str, set[str]] = {}

    def env_arn(color: MwaaColor, tail: str) -> str:
        return f"arn:{partition}:airflow:{color.region or region}:{account}:{tail}"

    def add(kind: str, values: Iterable[str]) -> None:
        arns.setdefault(kind, set()).update(values)

    for color in colors:
        add("mwaa_env", [env_arn(color, f"environment/{color.environment}")])
        add("mwaa_rest", [env_arn(color, f"role/{color.environment}/{MWAA_AIRFLOW_ROLE}")])
        bucket = S3Location(color.dags.bucket)
        add("mwaa_runtime", (bucket.object(k, partition) for k in color.runtime_keys))
    if blue_green is not None:
        for color in blue_green.colors:
            add("mwaa_update", [env_arn(color, f"environment/{color.environment}")])
            bucket = S3Location(color.dags.bucket)
            add("mwaa_upload", (bucket.object(k, partition) for k in blue_green.upload_keys))
        state = S3Location(blue_green.state_bucket)
        lease = state.object(blue_green.lock_key, partition)
        add("mwaa_state", [state.object(blue_green.state_key, partition), lease])
        add("mwaa_lease", [lease])
    return {kind: sorted(values) for kind, values in arns.items() if values}


def mwaa_statements(
    arns: dict[str, list[str]], blue_green: MwaaBlueGreen | None, partition: str = "aws"
) -> list[dict[str, Any]]:
    """The Allow statements of :func:`mwaa_arns`'s ARNs (module doc); none for a role that
    drives no MWAA environment."""
    stmts: list[dict[str, Any]] = []
    if "mwaa_env" in arns:
        stmts.append(statement("MwaaEnvironment", ["airflow:GetEnvironment"], arns["mwaa_env"]))
        stmts.append(statement("MwaaRestApi", ["airflow:InvokeRestApi"], arns["mwaa_rest"]))
    if "mwaa_runtime" in arns:
        stmts.append(statement("MwaaRequirementsAndPlugins", RUNTIME_READ, arns["mwaa_runtime"]))
    if "mwaa_update" in arns:
        update = ["airflow:UpdateEnvironment"]
        stmts.append(statement("MwaaUpdateEnvironment", update, arns["mwaa_update"]))
    if "mwaa_upload" in arns:
        stmts.append(statement("MwaaUploadRequirementsAndPlugins", UPLOAD, arns["mwaa_upload"]))
    if "mwaa_state" in arns and blue_green is not None:
        state = arns["mwaa_state"]
        stmts += [
            statement("BlueGreenStateRead", STATE_READ, state),
            statement(
                "BlueGreenStateCreate",
                STATE_WRITE,
                state,
                Condition={"Null": {"s3:if-none-match": "false"}},
            ),
            statement(
                "BlueGreenStateReplace",
                STATE_WRITE,
                state,
                Condition={"Null": {"s3:if-match": "false"}},
            ),
            statement("BlueGreenStateReleaseLease", ["s3:DeleteObject"], arns["mwaa_lease"]),
            statement(
                "BlueGreenStateBucket",
                ["s3:ListBucket"],
                [S3Location(blue_green.state_bucket).bucket_arn(partition)],
            ),
        ]
    return stmts
