"""Any CLI agent from an argv template (Codex CLI, Aider, ...), with an output parser hook.

agent.command: ["aider", "--model", "{model}", "--message-file", "{prompt_file}"]
agent.parser:  "mypkg.parsers:aider"  -> callable(stdout, stderr, exit_code) -> dict with any of
               input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd,
               api_calls, is_error, result_text. Without a parser, Claude-style JSON is tried.
"""

from __future__ import annotations

from scylla.agents.base import AgentContext, InfraError, Usage, run_cli, which
from scylla.agents.claude_json import parse_usage
from scylla.config.specs import AgentSpec
from scylla.util.hooks import load_parser
from scylla.util.process import ProcessResult


def fill(template: str, fields: dict[str, str]) -> str:
    """Replace only the known {placeholders}: literal braces (inline JSON, say) stay."""
    for name, value in fields.items():
        template = template.replace("{" + name + "}", value)
    return template


class CommandAdapter:
    name = "command"

    def __init__(self, agent: AgentSpec | None = None):
        self.agent = agent or AgentSpec(adapter=self.name)

    def run(self, ctx: AgentContext) -> ProcessResult:
        template = ctx.agent.command
        if not template:
            raise InfraError("infra", "agent.command is required for the command adapter")
        fields = {
            "prompt": ctx.prompt,
            "prompt_file": str(ctx.prompt_file.resolve()),
            "model": ctx.model,
            "workspace": str(ctx.workspace.resolve()),
        }
        argv = [fill(part, fields) for part in template]
        env = ctx.env()
        argv[0] = which(argv[0], env)
        return run_cli(ctx, argv, env)

    def parse(self, stdout: str, stderr: str, exit_code: int) -> Usage:
        hook = load_parser(self.agent.parser)
        if hook is None:
            return parse_usage(stdout, exit_code)
        fields = hook(stdout, stderr, exit_code)
        known = set(Usage.__dataclass_fields__) - {"exit_code"}
        return Usage(exit_code=exit_code, **{k: v for k, v in fields.items() if k in known})
