"""Durations as sources.yaml writes them: minutes as a number, or "45s", "30m", "2h", "1d".

Its own module, below both `newsmon.config` and `newsmon.alerts.rules` (which config imports).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is minutes or a string such as '30m', '2h', '1d'")
    if isinstance(value, int | float):
        return timedelta(minutes=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"a duration must look like '30m', '2h' or '1d', got {value!r}")
        return timedelta(**{_UNITS[match[2]]: float(match[1])})
    return value


def _at_least_a_second(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError("a duration must be at least 1 second")
    return value


# Minutes as a number, or "45s", "30m", "2h", "1d"; at least a second.
Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_at_least_a_second)]
