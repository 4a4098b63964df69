"""scylla: coding-agent experiments as a Snakemake pipeline."""

__version__ = "0.1.0"
