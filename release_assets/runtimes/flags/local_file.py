"""Feature flags in a local JSON file (``{"flag": true, ...}``), replaced atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from release_assets.runtimes.flags.base import FlagStore

REPAIR = "repair it, or delete it to turn every flag of this environment off"
"""What to do about an unreadable flag file (an absent file means: no flag is on)."""


class FlagFileError(ValueError):
    """The flag file is not a JSON object of booleans; the message names the file and says
    how to recover (``REPAIR``)."""


class LocalFileFlags(FlagStore):
    """Flags of ``environment`` in the JSON file ``path`` (absent file: no flags)."""

    path: str

    def flags(self) -> dict[str, bool]:
        file = Path(self.path)
        if not file.exists():
            return {}
        try:
            data = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise FlagFileError(
                f"{file}: not valid JSON ({exc.msg}, line {exc.lineno}); {REPAIR}"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, bool) for v in data.values()):
            raise FlagFileError(
                f"{file}: expected a JSON object of flag name -> true/false; {REPAIR}"
            )
        return {str(k): bool(v) for k, v in data.items()}

    def set_flag(self, name: str, enabled: bool) -> None:
        file = Path(self.path)
        data = {**self.flags(), name: enabled}
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(file)
