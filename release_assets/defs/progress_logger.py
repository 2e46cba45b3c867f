"""The `progress` logger: what a step says it is doing (``context.log.info``), one indented
line each on stderr, without Dagster's own events (run/step starts, materializations, failures
with their tracebacks) and without the steps' warnings and errors (a refusal or a failure: the
command prints those itself as its one-line outcome). `release-assets rollback` and
`redeploy`, which run their job in their own process, configure only this logger unless
``--verbose`` is given, so a rollback that takes minutes shows each re-load and rebuild as it
starts instead of nothing; the command's own one-line outcome follows at the end.

Dagster hands every logger a ``logging.LogRecord`` carrying ``dagster_meta``
(``dagster._core.log_manager.DagsterLogRecordMetadata``): ``orig_message`` is what the step
logged, ``dagster_event`` is set for Dagster's own events, which this logger drops."""

from __future__ import annotations

import logging
import sys
from typing import Any

import dagster as dg

LOGGER_NAME = "release_assets.progress"


class _StepMessages(logging.Filter):
    """Keeps INFO records a step logged itself (no ``dagster_event``), message reduced to
    what the step logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None)
        if record.levelno != logging.INFO or not isinstance(meta, dict):
            return False
        if meta.get("dagster_event") is not None:
            return False
        record.msg, record.args = str(meta.get("orig_message", record.getMessage())), None
        return True


def _progress(init_context: dg.InitLoggerContext) -> logging.Logger:
    """A ``logging.Logger`` writing ``  <message>`` to stderr for each step's INFO line."""
    logger = logging.Logger(LOGGER_NAME, logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    handler.addFilter(_StepMessages())
    logger.addHandler(handler)
    return logger


progress_logger = dg.LoggerDefinition(
    _progress, description="What the steps log at INFO, one line each on stderr."
)


LOGGERS = {"console": dg.colored_console_logger, "progress": progress_logger}
"""The loggers of every job: Dagster's default console logger and ``progress``."""

PROGRESS_ONLY: dict[str, Any] = {"loggers": {"progress": {"config": {}}}}
"""Run config for a CLI run that prints only the steps' progress lines."""
