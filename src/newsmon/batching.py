"""Split work into batches for tasks: by host, so per-host limits hold across batches."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def host_of(url: str | None) -> str:
    """The lower-cased host of a URL ('' when there is none)."""
    return (urlsplit(url).hostname or "") if url else ""


def chunks_by_host(items: Sequence[T], url: Callable[[T], str | None], size: int) -> list[list[T]]:
    """Split items into about len/size batches; all items of one host land in one batch.

    Each batch runs its own fetcher, so keeping a host in one batch keeps the per-host
    connection limit true for the whole run.
    """
    if not items:
        return []
    count = max(1, -(-len(items) // size))
    batches: list[list[T]] = [[] for _ in range(count)]
    for item in items:
        batches[zlib.crc32(host_of(url(item)).encode()) % count].append(item)
    return [batch for batch in batches if batch]


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """Consecutive batches of at most `size` items."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def balanced_size(
    total: int, workers: int, rounds: int = 4, least: int = 10, most: int = 50
) -> int:
    """A batch size giving each worker about `rounds` batches of `total` items, within bounds.

    Several small batches per worker keep every worker busy to the end (a last round of one
    big batch leaves the others idle); the bounds keep per-task overhead small.
    """
    return max(least, min(most, -(-total // max(1, workers * rounds))))
