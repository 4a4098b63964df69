"""What state an experiment is in and how it recovers: status, attempts, archives,
Snakemake's own bookkeeping, stopped and orphaned work, adopted directories."""
