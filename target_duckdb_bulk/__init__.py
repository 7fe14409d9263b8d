"""target-duckdb-bulk: a Singer target for DuckDB on singer-sdk's target classes, loading
every batch in bulk (DuckDB's own JSON/Parquet readers) with one transaction per batch."""
