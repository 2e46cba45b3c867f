"""The release record: what `release_candidate` decides about a release, typed and versioned.

Every later step reads this record as a declared input (through the record IO manager), never
metadata read back by key. Metadata stays, for people reading the UI. The record is JSON with a
``version``; a reader refuses a version it does not know instead of guessing.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from release_assets.core.changes import ChangeSet
from release_assets.core.dag_order import dependency_waves
from release_assets.runtimes.airflow.dag_probe import DagSummary

RECORD_VERSION = 1


class RecordError(ValueError):
    """A stored release record is unreadable or of an unknown version; names the release."""


class DagEdges(BaseModel):
    """The Datasets one DAG consumes and produces (URIs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumes: list[str] = []
    produces: list[str] = []


class ReleaseRecord(BaseModel):
    """One release as decided from its tag.

    - ``release``: the partition key (the git tag); ``commit``: the full sha it points to.
    - ``base_release``/``base_commit``: what it is compared with (the release live in
      production when it became a candidate), ``None`` for a first release.
    - ``change``: the change set (files, DAGs changed and downstream, dbt models, Spark jobs,
      Terraform modules, contracts), from the one change classifier.
    - ``dags``: every DAG of the release with its Dataset edges (dag_id -> edges).
    - ``authors`` (``Name <email>``) and ``pull_requests`` (numbers) between base and commit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    release: str
    commit: str
    base_release: str | None
    base_commit: str | None
    change: ChangeSet
    dags: dict[str, DagEdges]
    authors: list[str] = []
    pull_requests: list[int] = []

    @property
    def dag_ids(self) -> set[str]:
        """Every DAG id the release's code defines."""
        return set(self.dags)

    def summaries(self) -> dict[str, DagSummary]:
        """The DAG graph as DagSummary values (file locations are not recorded)."""
        return {
            dag_id: DagSummary(dag_id, "", list(e.consumes), list(e.produces))
            for dag_id, e in self.dags.items()
        }

    def run_waves(self) -> list[list[str]]:
        """The changed and downstream DAGs in waves: each DAG after the producers of the
        Datasets it reads; the DAGs of one wave are triggered together by the staging
        integration run and the canary."""
        return dependency_waves(self.change.affected_dag_ids, self.summaries())

    def canary_waves(self) -> list[list[str]]:
        """``run_waves`` plus the DAGs that run the dbt project (``change.dbt_dag_ids``), changed
        or not, in waves: a release that goes live owns every relation of its dbt project
        (prod's own runs write into ``<schema>__r_<live release>``, docs/runbook.md "What a
        rollback does to data"), so its canary builds all of them and prod switches every
        stable name to them."""
        wanted = {*self.change.affected_dag_ids, *self.change.dbt_dag_ids}
        return dependency_waves(sorted(wanted), self.summaries())

    def run_order(self) -> list[str]:
        """The waves, flattened: the order in which results are reported."""
        return [dag_id for wave in self.run_waves() for dag_id in wave]

    def to_json(self) -> str:
        """The record as stable, indented JSON."""
        return self.model_dump_json(indent=2)

    def fingerprint(self) -> str:
        """The first 16 hex of the sha256 of ``to_json()``: steps record it with their
        outcome, so evidence made for another version of the record (release_candidate
        re-materialized since, with another base or change set) does not count."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str, where: str) -> ReleaseRecord:
        """Parse a stored record; raises RecordError naming ``where`` (the release or file)."""
        try:
            data: Any = cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}"
                for e in exc.errors()
            )
            raise RecordError(
                f"release record of {where} cannot be read (record version "
                f"{RECORD_VERSION} expected): {problems}"
            ) from None
        record: ReleaseRecord = data
        return record
