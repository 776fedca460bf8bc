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


class Batcher:
    """Cuts `total` items into task batches that shrink as the work left does.

    Each batch is about 1/(2 x workers) of what is left, within [least, most]: the first
    batches are large (little per-task overhead) and the last ones small, so the workers
    finish close together instead of one waiting on the other's last large batch (guided
    scheduling). One worker has no one to wait for: it gets batches of `most`. Items may
    arrive in parts (each fetch task's pages); `cut` sizes each part's batches by what is
    left of the whole.
    """

    def __init__(self, total: int, workers: int, least: int = 10, most: int = 50):
        self.left = total
        self.workers = max(1, workers)
        self.least, self.most = least, most

    def size(self) -> int:
        """The size of the next batch."""
        if self.workers == 1:
            return self.most
        share = -(-self.left // (2 * self.workers))
        return max(self.least, min(self.most, share))

    def cut(self, items: Sequence[T]) -> list[list[T]]:
        """`items` in consecutive batches of the sizes due now."""
        parts: list[list[T]] = []
        start = 0
        while start < len(items):
            part = list(items[start : start + self.size()])
            parts.append(part)
            start += len(part)
            self.left = max(0, self.left - len(part))
        return parts

    def count(self) -> int:
        """How many batches the items left make when they arrive together."""
        return len(Batcher(self.left, self.workers, self.least, self.most).cut(range(self.left)))
