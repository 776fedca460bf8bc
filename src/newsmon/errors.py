"""The exceptions newsmon raises; per-feed and per-article failures are recorded as data instead."""


class NewsmonError(Exception):
    """Base class: the CLI turns these into one clear line and an exit code."""

    exit_code = 1


class ConfigError(NewsmonError):
    """sources.yaml is missing or invalid; nothing has been written."""

    exit_code = 2


class UsageError(NewsmonError):
    """A command was given something that does not exist (a query name, a topic); nothing ran."""

    exit_code = 2


class FetchError(NewsmonError):
    """A URL was refused or could not be fetched (recorded per feed/article, not raised out of a run)."""


class WarehouseError(NewsmonError):
    """The DuckDB warehouse cannot be opened or migrated."""


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse file; the pipeline stages its batch instead."""


class RunFailed(NewsmonError):
    """A poll cycle ran but failed as a whole (no feed could be polled); what it did is stored."""

    exit_code = 3

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result  # the run's summary, when it got as far as storing one
