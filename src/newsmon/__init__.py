"""newsmon: scheduled news monitoring from feeds to a DuckDB warehouse."""

__version__ = "0.1.0"
