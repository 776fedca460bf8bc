"""Prefect flows of newsmon: thin wrappers that turn library calls into tasks."""
