"""The target: settings, the one DuckDB connection, and the SDK's message loop.

Everything Singer (SCHEMA/RECORD/STATE/BATCH handling, stream maps, batching, and emitting
STATE only after every sink holding its records has committed) is singer-sdk's Target.
"""

from __future__ import annotations

import tempfile
from functools import cached_property
from pathlib import Path

from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.mapper import SameRecordTransform

from partnerapi_sdk_hooks import TargetHooks
from target_duckdb_bulk.reader import BulkReader
from target_duckdb_bulk.sink import DuckDBBulkSink
from target_duckdb_bulk.warehouse import TableSpec, Warehouse


class TargetDuckDBBulk(TargetHooks):
    """Singer target for DuckDB: bulk loads, one transaction per batch, upsert on keys."""

    name = "target-duckdb-bulk"
    default_sink_class = DuckDBBulkSink
    # msgspec for the lines it parses; RECORD lines that need no Python work go unparsed.
    message_reader_class = BulkReader
    capabilities = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.STRUCTURED_LOGGING,
        PluginCapabilities.BATCH,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property("path", th.StringType, required=True,
                    description="The DuckDB database file (created if missing)."),
        th.Property("default_target_schema", th.StringType, default="main",
                    description="Schema of the stream tables (created if missing)."),
        th.Property("memory_limit", th.StringType, default="512MB",
                    description="DuckDB's memory_limit: past it DuckDB spills to temp_dir."),
        th.Property("threads", th.IntegerType,
                    description="DuckDB worker threads (default: one per core)."),
        th.Property("temp_dir", th.StringType,
                    description="Where batches are spooled and DuckDB spills (default: "
                                "the system temp directory)."),
    ).to_dict()

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # Sinks share one connection: drain them one at a time.
        self.max_parallelism = 1
        self._truncated: set[tuple[str, str]] = set()

    @cached_property
    def spool_dir(self) -> str:
        base = self.config.get("temp_dir") or tempfile.gettempdir()
        Path(base).mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix="target-duckdb-bulk-", dir=base)

    @cached_property
    def warehouse(self) -> Warehouse:
        path = str(self.config["path"])
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return Warehouse(path, memory_limit=self.config.get("memory_limit"),
                         threads=self.config.get("threads"),
                         temp_directory=str(Path(self.spool_dir) / "duckdb"))

    def first_load_truncates(self, spec: TableSpec) -> bool:
        """``load_method: overwrite``: the stream's first batch of the run empties the
        table in its own transaction (the old rows stay until that batch commits)."""
        if self.config.get("load_method") != "overwrite":
            return False
        key = (spec.schema, spec.table)
        if key in self._truncated:
            return False
        self._truncated.add(key)
        return True

    @property
    def _raw_records_allowed(self) -> bool:
        return not (self.config.get("validate_records", True)
                    or self.config.get("add_record_metadata")
                    or self.config.get("flattening_enabled"))

    def schema_received(self, stream: str) -> None:
        """A stream's RECORD lines go unparsed (reader.py) while nothing needs them
        parsed: the identity map only, no validation, metadata columns or flattening."""
        maps = self.mapper.stream_maps.get(stream, [])
        raw = (self._raw_records_allowed and len(maps) == 1
               and type(maps[0]) is SameRecordTransform and maps[0].stream_alias == stream)
        reader: BulkReader = self.message_reader  # type: ignore[assignment]
        if raw:
            reader.raw_streams.add(stream)
        else:
            reader.raw_streams.discard(stream)

    def before_state_message(self) -> None:
        # The SDK emits STATE after draining every sink; a drained batch may still be
        # loading on the warehouse's thread: the state goes out only once it has committed.
        if "warehouse" in self.__dict__:
            self.warehouse.wait()

    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        if "warehouse" in self.__dict__:
            self.warehouse.close()
        if "spool_dir" in self.__dict__:
            import shutil

            shutil.rmtree(self.spool_dir, ignore_errors=True)


if __name__ == "__main__":
    TargetDuckDBBulk.cli()
