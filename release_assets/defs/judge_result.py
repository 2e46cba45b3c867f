"""The materialization of a step the canary judge decides (`regression_check`, `flag_canary`):
the verdict table and the score for people, every metric's number as numeric metadata (so
Dagster plots them across partitions), and the blocking check carrying the verdict."""

from collections.abc import Mapping
from typing import Any

import dagster as dg


def judged_result(
    check: str,
    passed: bool,
    summary: str,
    table: str,
    numbers: Mapping[str, float],
    **metadata: Any,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """``summary`` (one line: verdict, score, failing metrics) is the check's description and
    the ``verdict`` entry, ``table`` (markdown) the ``verdicts`` entry of both; ``numbers``
    (``Judgement.numeric_metadata``: stable keys) become float entries; ``metadata`` is added
    as given. The check ``check`` is blocking (severity ERROR) and passes when ``passed``."""
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "verdict": summary,
            "verdicts": dg.MetadataValue.md(table),
            **{key: dg.MetadataValue.float(value) for key, value in numbers.items()},
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=check,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=summary,
                metadata={"verdicts": dg.MetadataValue.md(table)},
            )
        ],
    )
