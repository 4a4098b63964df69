"""The `scylla` command line (entry point: `scylla.cli.main`): one module per command,
the options they share in `common`. Importing this package imports nothing else."""
