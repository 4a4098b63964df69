"""Judges: LLM judges over the Claude Code CLI, the deterministic checks judge, consensus."""
