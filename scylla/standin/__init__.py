"""Offline, deterministic stand-ins for external tools (the ``claude`` CLI)."""
