"""The ``validation`` section of ``release.yaml``: settings of the validation gates and the
house rules (policies) with their severities. Every field has a default (docs/validation.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CheckovSkip",
    "PoliciesConfig",
    "PolicySeverity",
    "SecretsConfig",
    "SqlLintConfig",
    "TerraformGateConfig",
    "ValidationConfig",
]

RelPath = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlLintConfig(_Strict):
    """sqlfluff over the dbt models."""

    dialect: str = "duckdb"
    templater: Literal["jinja", "dbt", "placeholder"] = "jinja"
    rules: list[str] = ["core"]
    exclude_rules: list[str] = []
    max_line_length: int = Field(default=120, ge=40)


class CheckovSkip(_Strict):
    id: str = Field(pattern=r"^CKV2?_[A-Z0-9_]+$")
    reason: str = Field(min_length=8)


class TerraformGateConfig(_Strict):
    checkov_skips: list[CheckovSkip] = []


class SecretsConfig(_Strict):
    # A detect-secrets baseline listing known, accepted findings (e.g. test fixtures).
    allowlist: RelPath | None = None
    bandit_skips: list[Annotated[str, Field(pattern=r"^B\d{3}$")]] = []
    bandit_severity: Literal["low", "medium", "high"] = "medium"


PolicySeverity = Literal["error", "warning", "off"]


class PoliciesConfig(_Strict):
    """How much each house rule of the validation gates weighs: ``error`` blocks a release,
    ``warning`` is reported without blocking, ``off`` is not checked. Airflow's and dbt's own
    semantics (a DAG that does not import, a reference that does not resolve) are not policies.
    The defaults block on what breaks a deployment and never on style (docs/validation.md)."""

    # A task owned by nobody, or by Airflow's default owner 'airflow'.
    dag_owner: PolicySeverity = "error"
    # A DAG file slower to import than validation.dag_parse_seconds on the validating machine
    # (a timing: a warning by default, since a loaded machine parses slower).
    dag_parse_time: PolicySeverity = "warning"
    # A task with retries=0.
    dag_retries: PolicySeverity = "error"
    # A time-scheduled DAG that does not pass catchup (Airflow 2's default catches up).
    dag_catchup_explicit: PolicySeverity = "warning"
    # A DAG that does not pass schedule (Airflow 2's default runs it daily).
    dag_schedule_explicit: PolicySeverity = "error"
    # ruff rules that find bugs (pyflakes, syntax errors, ...).
    python_lint: PolicySeverity = "error"
    # ruff rules on import order and use, formatting, docstrings, naming.
    python_style: PolicySeverity = "warning"
    # sqlfluff rules other than sql_style's.
    sql_lint: PolicySeverity = "error"
    # sqlfluff layout (LT), capitalisation (CP) and Jinja padding (JJ) rules.
    sql_style: PolicySeverity = "warning"

    @field_validator("*", mode="before")
    @classmethod
    def _unquoted_off(cls, value: Any) -> Any:
        # YAML 1.1 (PyYAML) reads an unquoted `off` as false.
        return "off" if value is False else value


class ValidationConfig(_Strict):
    """The validation gates' settings (every field has a default)."""

    dag_parse_seconds: float = Field(default=5.0, gt=0, le=120)
    # Dataset URIs updated from outside Airflow (no DAG of the repository produces them).
    external_datasets: list[str] = []
    sql: SqlLintConfig = SqlLintConfig()
    terraform: TerraformGateConfig = TerraformGateConfig()
    secrets: SecretsConfig = SecretsConfig()
    policies: PoliciesConfig = PoliciesConfig()
