"""Small shared tools: atomic JSON, strict YAML, digests, git, processes, secrets."""
