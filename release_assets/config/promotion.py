"""What an environment needs before it may receive a release: the ``promotion:`` block of an
environment in the deployment configuration (the platform engineer's side of approvals; the
team's side is ``release.yaml`` ``approvals:``, ``release_assets.config.approvals_config``).

``core.approvals.approval_need`` reads :class:`ApprovalPolicy` against a release's change set;
``core.promotion.assess`` reads :class:`PromotionPolicy` (soak time and approvals).
docs/approvals.md explains the options; docs/configuration.md is the file reference.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ChangeKind = Literal[
    "critical_tables", "contracts", "terraform", "requirements", "dags", "dbt", "spark"
]
"""What a change may touch that ``when_changed`` can name:

- ``critical_tables``: the model of a ``release.yaml`` ``critical_tables`` entry changed;
- ``contracts``: a data contract changed; ``terraform``: a Terraform root or module changed;
- ``requirements``: the runtime requirements (or constraints) changed;
- ``dags``: a DAG file changed; ``dbt``: a dbt model changed; ``spark``: a Spark job changed.
"""


class ApprovalPolicy(BaseModel):
    """When an environment needs signed approvals, and how long one stays valid.

    - ``required``: ``never`` (default), ``always``, or ``when_changed``: when the release's
      change set touches one of the kinds listed in ``when_changed``;
    - ``when_changed``: the kinds (:data:`ChangeKind`), read only with ``when_changed``, which
      needs at least one;
    - ``valid_hours``: an approval expires this many hours (> 0, default 24) after it was
      signed or recorded, whichever came first.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: Literal["always", "never", "when_changed"] = "never"
    when_changed: list[ChangeKind] = []
    valid_hours: float = Field(default=24.0, gt=0)

    @model_validator(mode="after")
    def _kinds_match_mode(self) -> Self:
        if self.required == "when_changed" and not self.when_changed:
            raise ValueError(
                "required is when_changed but when_changed lists nothing; list what needs an "
                "approval (critical_tables, contracts, terraform, requirements, dags, dbt, "
                "spark) or set required to always or never"
            )
        if self.required != "when_changed" and self.when_changed:
            raise ValueError(
                f"when_changed is only read when required is when_changed (it is "
                f"{self.required}); remove when_changed or set required: when_changed"
            )
        return self


class PromotionPolicy(BaseModel):
    """What one environment needs before it may receive a release (``EnvironmentSpec.promotion``).

    - ``soak_minutes``: minutes (>= 0, default 0) that must have passed since the release's
      previous stage passed (for production: its integration run);
    - ``approval``: the :class:`ApprovalPolicy` (default: no approval needed).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    soak_minutes: float = Field(default=0.0, ge=0)
    approval: ApprovalPolicy = ApprovalPolicy()
