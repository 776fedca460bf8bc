"""What a report remembers of the previous one: a small JSON file beside the HTML.

`report-TOPIC.html` keeps `report-TOPIC.state.json` beside it: when it was written and the
warehouse's watermark then (the latest `articles.fetched_at`). The next report written to the
same file marks as new what the warehouse took in after that watermark. The warehouse itself
is not written: reports read the read-only snapshot, and two report files (say a daily one
and one of your own) each keep their own "since"."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Previous:
    """The report written before this one to the same file."""

    written_at: datetime
    watermark: datetime | None


def path_for(out: Path) -> Path:
    """`report.html` -> `report.state.json`, in the same folder."""
    return out.with_name(out.stem + ".state.json")


def read(out: Path, topic: str) -> Previous | None:
    """The previous report of this topic at `out`, or None (none yet, another topic, unreadable)."""
    path = path_for(out)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("topic") != topic:
            return None
        mark = data.get("watermark")
        return Previous(
            datetime.fromisoformat(data["written_at"]),
            datetime.fromisoformat(mark) if mark else None,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # A broken state file costs the "new" marks of one report, never the report.
        log.warning("previous report state %s not read: %s", path, exc)
        return None


def save(out: Path, topic: str, written_at: datetime, watermark: datetime | None) -> Path:
    """Remember this report for the next one written to `out`."""
    path = path_for(out)
    data = {
        "topic": topic,
        "written_at": written_at.isoformat(timespec="seconds"),
        "watermark": watermark.isoformat() if watermark else None,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path
