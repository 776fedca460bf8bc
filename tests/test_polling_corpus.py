"""Every third-party test feed, served over loopback, goes through the polling stage."""

from __future__ import annotations

import pytest

from newsmon.config import Feed, HttpSettings, Settings
from newsmon.feeds import poll

from .conftest import SHARED_DATA, Response, shared_data


@pytest.mark.slow
@pytest.mark.shared_data
def test_feedparser_and_real_fixtures_poll_without_an_exception(site, capsys):
    shared_data("feedparser_tests")
    files = sorted(
        p
        for folder in ("feedparser_tests", "real_feed_fixtures")
        for p in (SHARED_DATA / folder).rglob("*")
        if p.is_file() and p.name != "LICENSE" and not p.name.endswith(".expected.json")
    )
    feeds = []
    for index, path in enumerate(files):
        route = f"/{index}/{path.name}"
        # No content type: newsmon must cope with whatever a server says (or does not say).
        site.routes[route] = Response(path.read_bytes(), content_type="application/octet-stream")
        feeds.append(Feed(id=f"f{index:05d}", name=path.name, url=site.url(route)))
    settings = Settings(
        allow_private_networks=True, http=HttpSettings(per_host_connections=8, max_connections=8)
    )

    results = poll(feeds, settings)  # any exception fails the test

    assert len(results) == len(files) >= 2000
    by_folder: dict[str, list] = {}
    for path, (status, entries) in zip(files, results, strict=True):
        by_folder.setdefault(path.relative_to(SHARED_DATA).parts[1], []).append((status, entries))
        assert status.status in ("ok", "error")
        if status.status == "error":
            assert status.error.startswith("not a feed"), (path, status.error)
        for entry in entries:
            for text in (entry.title, entry.summary):
                assert text is None or "\x00" not in text
    malformed = sum(s.status == "error" for s, _ in results)
    entries = sum(len(e) for _, e in results)
    with capsys.disabled():
        print(
            f"\npolled {len(files)} third-party feed files: {entries} entries, {malformed} flagged as malformed"
        )
        for folder, rows in sorted(by_folder.items()):
            print(
                f"  {folder:28} {len(rows):5} files, {sum(s.status == 'error' for s, _ in rows):4} malformed"
            )
    # feedparser's well-formed cases must nearly all pass (9 of 1,749 are empty documents).
    wellformed = [r for r in by_folder.get("wellformed", [])]
    assert sum(s.status == "ok" for s, _ in wellformed) / len(wellformed) > 0.98
