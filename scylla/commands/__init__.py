"""Subcommands of the scylla CLI."""
