"""One stream's sink: records are spooled to a file as they arrive (one line each, no Python
object kept), and each batch - ``batch_size_rows`` records, or one BATCH file - is read by
DuckDB's JSON/Parquet reader and merged in one transaction."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from partnerapi_sdk_hooks import BatchFileFormat, SinkHooks, StorageTarget
from target_duckdb_bulk.warehouse import Source, TableSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partnerapi_sdk_hooks import BaseBatchFileEncoding
    from target_duckdb_bulk.target import TargetDuckDBBulk


def _enc_hook(obj: Any) -> Any:
    # date-times the SDK parsed back to datetime; anything else exotic as text.
    return obj.isoformat() if hasattr(obj, "isoformat") else str(obj)


# Decimals (the msgspec reader's floats) stay JSON numbers.
_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


class DuckDBBulkSink(SinkHooks):
    """A Singer stream into ``<default_target_schema>.<stream>``; date-time strings are
    cast by DuckDB when the batch is staged (``SinkHooks``)."""

    MAX_SIZE_DEFAULT = 100_000

    def __init__(self, target: TargetDuckDBBulk, stream_name: str, schema: dict,
                 key_properties: Sequence[str] | None) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._bulk_target = target
        self.spec = TableSpec.for_stream(target.warehouse.catalog,
                                         self.config.get("default_target_schema") or "main",
                                         stream_name, self.schema, self.key_properties)
        self._spool: IO[str] | None = None
        self._spool_path: str | None = None
        self._seq = 0

    @property
    def load_method(self) -> str:
        return str(self.config.get("load_method") or "upsert")

    def setup(self) -> None:
        super().setup()
        self._bulk_target.warehouse.ensure_table(self.spec)

    # -- record path -----------------------------------------------------------------------

    def _spool_file(self) -> IO[str]:
        if self._spool is None:
            fd, path = tempfile.mkstemp(prefix=f"{self.spec.table}-", suffix=".jsonl",
                                        dir=self._bulk_target.spool_dir)
            self._spool = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
            self._spool_path = path
        return self._spool

    def write_message_line(self, line: str) -> None:
        """The raw-line path: a RECORD message line exactly as received, wrapped with its
        arrival order (the last record of a key in a batch wins). DuckDB parses it."""
        self._seq += 1
        spool = self._spool_file()
        spool.write(f'{{"s":{self._seq},"m":')
        spool.write(line.rstrip("\r\n"))
        spool.write("}\n")

    def process_record(self, record: dict, context: dict) -> None:
        """The SDK path (stream maps, metadata columns or validation on): the record as the
        SDK left it, re-encoded into the same spool format."""
        self._seq += 1
        spool = self._spool_file()
        spool.write(f'{{"s":{self._seq},"m":{{"record":')
        spool.write(_ENCODER.encode(record).decode())
        spool.write("}}\n")

    def process_batch(self, context: dict) -> None:
        """Hand the spooled batch to the warehouse's load thread and return: the next batch
        fills while this one loads. The target waits for the load before it emits STATE."""
        if self._spool is None:
            return
        self._spool.close()
        self._spool = None
        path, self._spool_path = self._spool_path, None
        assert path is not None
        records = self.current_size

        def load() -> None:
            try:
                _, written = self._load(Source("spool", (path,)))
            finally:
                Path(path).unlink(missing_ok=True)
            self.logger.info("Committed %d rows into %s (%d records in the batch)",
                             written, self.spec.qualified, records)
            self.tally_duplicate_merged(records - written)

        self._bulk_target.warehouse.submit(load)

    def clean_up(self) -> None:
        if self._spool is not None:  # a batch that never drained (an error upstream)
            self._spool.close()
            self._spool = None
        if self._spool_path:
            Path(self._spool_path).unlink(missing_ok=True)
        super().clean_up()

    # -- BATCH messages ----------------------------------------------------------------------

    def process_batch_files(self, encoding: BaseBatchFileEncoding,
                            files: Sequence[str]) -> None:
        """The manifest's files load in order, a few together per transaction (~64 MB of
        files: a tap's 10,000-record files would otherwise each pay a commit); a key in a
        later file replaces the earlier one. DuckDB reads the file itself: gzip JSON lines or
        Parquet, from a local path or file:// URL; another scheme is copied to the spool
        directory first through the SDK's storage (fsspec)."""
        if encoding.format == BatchFileFormat.JSONL:
            kind = "jsonl"
        elif encoding.format == BatchFileFormat.PARQUET:
            kind = "parquet"
        else:
            raise NotImplementedError(f"Unsupported batch encoding format: {encoding.format}")
        self._bulk_target.warehouse.wait()
        for group in _groups(list(files)):
            local = [self._local_copy(url) for url in group]
            try:
                read, written = self._load(Source(kind, tuple(path for path, _ in local)))
            finally:
                for path, temporary in local:
                    if temporary:
                        Path(path).unlink(missing_ok=True)
            self.record_counter_metric.increment(read)
            self.tally_duplicate_merged(read - written)
            self.tally_record_written(written)
            self.logger.info("Committed %d rows into %s from %d BATCH file(s), %s to %s",
                             written, self.spec.qualified, len(group), group[0], group[-1])

    def _local_copy(self, url: str) -> tuple[str, bool]:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme in ("", "file"):
            return urllib.parse.unquote(parsed.path) if parsed.scheme else url, False
        head, tail = StorageTarget.split_url(url)
        storage = (self.batch_config.storage if self.batch_config else None) \
            or StorageTarget.from_url(head)
        suffix = "".join(Path(parsed.path).suffixes)
        fd, path = tempfile.mkstemp(prefix=f"{self.spec.table}-", suffix=suffix,
                                    dir=self._bulk_target.spool_dir)
        with os.fdopen(fd, "wb") as out, storage.open(tail, mode="rb") as remote:
            shutil.copyfileobj(remote, out, 1 << 20)
        return path, True

    def _load(self, source: Source) -> tuple[int, int]:
        return self._bulk_target.warehouse.load(
            self.spec, source, method=self.load_method,
            truncate_first=self._bulk_target.first_load_truncates(self.spec))


GROUP_BYTES = 64 << 20


def _groups(files: list[str]) -> list[list[str]]:
    """Consecutive files up to ~GROUP_BYTES on disk each (remote files: one per group)."""
    groups: list[list[str]] = []
    size = 0
    for url in files:
        parsed = urllib.parse.urlparse(url)
        local = parsed.scheme in ("", "file")
        path = urllib.parse.unquote(parsed.path) if parsed.scheme else url
        nbytes = os.path.getsize(path) if local and os.path.exists(path) else GROUP_BYTES
        if not groups or size + nbytes > GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(url)
        size += nbytes
    return groups
