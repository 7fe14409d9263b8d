"""End-to-end convergence under chaos: the real pipeline (sandbox process, `meltano run` of
the incremental / reconcile / sweep / backfill jobs, target-duckdb-bulk, dbt) against a hostile
vendor, then every mart compared with the sandbox's ground truth. See docs/reliability.md."""
