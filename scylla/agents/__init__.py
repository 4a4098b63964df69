"""Agent adapters by name."""

from __future__ import annotations

from scylla.agents.base import Adapter, AgentContext, InfraError, Usage
from scylla.agents.builtin import NopAdapter, OracleAdapter, ReplayAdapter
from scylla.agents.claude_code import ClaudeCodeAdapter
from scylla.agents.command import CommandAdapter
from scylla.config.specs import AgentSpec

__all__ = ["Adapter", "AgentContext", "InfraError", "Usage", "get_adapter"]


def get_adapter(agent: AgentSpec) -> Adapter:
    name = agent.adapter
    if name == "claude-code":
        return ClaudeCodeAdapter()
    if name == "command":
        return CommandAdapter(agent)
    if name == "oracle":
        return OracleAdapter()
    if name == "nop":
        return NopAdapter()
    if name == "replay":
        return ReplayAdapter()
    raise ValueError(f"unknown agent adapter '{name}'")
