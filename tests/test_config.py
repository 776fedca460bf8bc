"""sources.yaml validation: strict keys, line numbers, defaults under a partial file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from newsmon.config import load_sources, parse_sources
from newsmon.errors import ConfigError

from .conftest import ROOT

GOOD = """\
feeds:
  - id: one
    name: One
    url: https://example.org/feed.xml
    interval: 30m
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "s.yaml")
    return str(info.value)


def test_shipped_sources_file_is_valid_and_real():
    sources = load_sources(ROOT / "sources.yaml")
    assert len(sources.feeds) >= 8
    assert all(f.url.startswith("https://") for f in sources.feeds)
    assert sources.settings.allow_private_networks is False
    talks = {t.id: t for t in sources.topics}["russia-ukraine-talks"]
    names = {e.name for e in talks.entities}
    assert {"Vladimir Medinsky", "Rustem Umerov", "Hakan Fidan"} <= names


def test_partial_file_keeps_defaults_for_the_rest():
    sources = parse_sources(GOOD)
    assert sources.feeds[0].interval == timedelta(minutes=30)
    assert sources.settings.http.max_body_bytes == 15 * 1024 * 1024
    assert sources.settings.http.max_redirects == 5
    assert sources.settings.allow_private_networks is False
    assert "newsmon/" in sources.settings.http.agent and "+https://" in sources.settings.http.agent


def test_unknown_key_names_path_and_line():
    text = GOOD + "settings:\n  http:\n    timout: 3\n"
    assert error_of(text) == "s.yaml:8: settings.http.timout: unknown key"


def test_missing_key_points_at_the_item():
    text = "feeds:\n  - id: one\n    url: https://example.org/f\n"
    assert error_of(text) == "s.yaml:2: feeds[0].name: missing required key"


def test_non_http_url_is_refused_with_its_line():
    text = GOOD + "  - id: two\n    name: Two\n    url: file:///etc/passwd\n"
    message = error_of(text)
    assert message.startswith("s.yaml:8: feeds[1].url:")
    assert "http or https" in message


def test_duplicate_ids_are_refused():
    text = GOOD + "  - id: one\n    name: Again\n    url: https://example.org/other.xml\n"
    assert error_of(text) == "s.yaml:6: feeds[1].id: duplicate id 'one' (first used at feeds[0])"


def test_every_problem_of_a_file_is_reported_at_once_in_line_order():
    text = """\
feeds:
  - id: one
    name: One
    url: https://example.org/feed.xml
    intervall: 5
  - id: one
    name: Two
    name: Again
    url: "http://exa mple.com/rss"
  - id: three
    name: Three
    url: https://example.org/feed.xml
settings:
  http:
    timout: 3
  polling:
    min_interval: 2d
"""
    assert error_of(text).splitlines() == [
        "s.yaml:5: feeds[0].intervall: unknown key",
        "s.yaml:6: feeds[1].id: duplicate id 'one' (first used at feeds[0])",
        "s.yaml:8: feeds[1].name: duplicate key",
        "s.yaml:9: feeds[1].url: URL must not contain whitespace or control characters "
        "(found ' '; a space in a path is written %20): 'http://exa mple.com/rss'",
        "s.yaml:12: feeds[2].url: duplicate url 'https://example.org/feed.xml' "
        "(first used at feeds[0])",
        "s.yaml:15: settings.http.timout: unknown key",
        "s.yaml:16: settings.polling: min_interval must not exceed max_interval",
    ]


def test_load_sources_reports_every_problem_with_its_file(tmp_path: Path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        GOOD + "  - id: one\n    name: Again\n    url: https://example.org/x\n    tags: 3\n"
    )
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert str(info.value).splitlines() == [
        f"{path}:6: feeds[1].id: duplicate id 'one' (first used at feeds[0])",
        f"{path}:9: feeds[1].tags: Input should be a valid list",
    ]


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("http://exa mple.com/rss", "' '"),
        ("https://example.org/world news.xml", "' '"),
        ("'https://example.org/feed.xml '", "' '"),
        ('"https://example.org/\\tfeed.xml"', "'\\t'"),
        ('"https://example.org/feed.xml\\n"', "'\\n'"),
    ],
)
def test_whitespace_in_a_feed_url_is_refused(url, found):
    text = GOOD.replace("https://example.org/feed.xml", url)
    message = error_of(text)
    assert message.startswith("s.yaml:4: feeds[0].url: URL must not contain whitespace")
    assert f"(found {found};" in message and len(message.splitlines()) == 1


def test_a_url_with_a_bad_port_is_refused():
    text = GOOD.replace("example.org/", "example.org:99999/")
    assert "feeds[0].url: URL has an invalid port" in error_of(text)


def test_duplicate_yaml_keys_are_refused():
    text = GOOD.replace("    interval: 30m\n", "    name: Twice\n")
    assert error_of(text) == "s.yaml:5: feeds[0].name: duplicate key"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "file is empty"),
        ("feeds: [\n", "invalid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("feeds: []\n", "feeds: List should have at least 1 item"),
        (GOOD.replace("30m", "soon"), "feeds[0].interval: a duration must look like"),
        (
            GOOD + "topics:\n  - id: t\n    entities:\n      - {name: X, kind: planet}\n",
            "topics[0].entities[0].kind",
        ),
    ],
)
def test_malformed_files_fail_with_a_clear_message(text, fragment):
    assert fragment in error_of(text)


def test_relative_warehouse_is_relative_to_the_sources_file(tmp_path: Path):
    path = tmp_path / "conf" / "sources.yaml"
    path.parent.mkdir()
    path.write_text(GOOD + "settings:\n  warehouse: db/w.duckdb\n")
    assert load_sources(path).settings.warehouse == path.parent / "db/w.duckdb"


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "absent.yaml")


def test_the_readmes_settings_blocks_validate_and_show_the_defaults():
    import re

    import yaml

    from newsmon.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.S)
        if "defaults shown" in block
    ]
    assert len(blocks) == 4  # the full example, stories, nlp, polling
    feeds = "feeds:\n  - {id: a, name: A, url: 'https://a.example/feed'}\n"
    defaults = Settings().model_dump()
    for block in blocks:
        parse_sources(feeds + yaml.safe_dump({"settings": block["settings"]}))  # valid
        shown = Settings(**block["settings"]).model_dump()
        for key in block["settings"]:
            if key != "warehouse":  # relative to the sources file once loaded
                assert shown[key] == defaults[key], key
