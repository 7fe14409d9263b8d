"""BATCH mode (singer-sdk ``batch_config``): records go to files, state follows the files.

With ``batch_config`` set, the SDK calls :meth:`BatchedCommits.get_batches` (its public hook
for custom batching) instead of writing RECORD messages; each file is announced in a
standard BATCH message (``encoding`` ``{"format": "jsonl", "compression": "gzip"}``). The
tap's invariant - a bookmark is never ahead of the records and ledger rows it covers - is
kept by deferring each page's commit (its ledger row, bookmark and STATE) until the BATCH
message of the file holding the page has been written. Files end at page boundaries, so
every page is committed right after its own file. A crash in between leaves the state
behind the announced files: the re-run reads those pages again and the loader's upsert by
(environment, id, _pa_version) absorbs the repeat.

The files are what singer-sdk's own JSONL encoder writes - raw records, one JSON object per
line, gzip, named ``<prefix><tap>--<stream>-<uuid>-<n>.json.gz`` in the configured storage
(``file://`` or ``s3://``) - but written as the records stream by, encoded with msgspec (as
the tap's RECORD messages are) and compressed at gzip level 1 on a second thread. The SDK's
encoder holds a whole batch in memory, encodes with simplejson and compresses at level 9 in
the tap's thread: 0.35x the RECORD path's records/s in bench/backfill.py, far below the
vendor's ceiling (docs/benchmarks.md). Other formats (parquet) go through the SDK's encoders.
"""

from __future__ import annotations

import collections
import gzip
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import uuid4

from singer_sdk.batch import Batcher
from singer_sdk.contrib.msgspec import encoder

from partnerapi_sdk_hooks import BatchFileFormat

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from partnerapi_sdk_hooks import BaseBatchFileEncoding, BatchConfig

# Encoded lines are handed to gzip in slices of this size (fewer, larger zlib calls).
WRITE_BUFFER_BYTES = 1 << 20
GZIP_LEVEL = 1  # files ~25 % larger than at level 9, compressed ~4x faster


class BatchedCommits:
    """Mixin for a stream whose ``get_records`` calls :meth:`after_records` per page."""

    _pending: list[Callable[[], None]] | None = None  # None: RECORD mode

    def after_records(self, commit: Callable[[], None]) -> None:
        """Run ``commit`` once the records yielded so far are out: at once in RECORD mode
        (they were written as they were yielded), after their file's BATCH message in
        BATCH mode."""
        if self._pending is None:
            commit()
        else:
            self._pending.append(commit)

    def get_batches(self, batch_config: BatchConfig, context: t.Any = None,
                    ) -> Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        """One (encoding, manifest) per file; the deferred commits after each.

        The SDK writes the BATCH message, then a STATE, when this generator yields; that
        STATE cannot be ahead (bookmarks move only in the commits, run on resumption).
        """
        self._pending = []
        try:
            records = self.records_unwritten(context)  # type: ignore[attr-defined]
            if batch_config.encoding.format == BatchFileFormat.JSONL:
                files = self._jsonl_files(batch_config, records)
            else:
                files = Batcher(tap_name=self.tap_name,  # type: ignore[attr-defined]
                                stream_name=self.name,  # type: ignore[attr-defined]
                                batch_config=batch_config).get_batches(records=records)
            for manifest in files:
                ready, self._pending = self._pending, []
                yield batch_config.encoding, manifest
                for commit in ready:
                    commit()
            ready, self._pending = self._pending, None
            for commit in ready:
                commit()
        finally:
            self._pending = None

    def _jsonl_files(self, batch_config: BatchConfig,
                     records: Iterator[dict[str, t.Any]]) -> Iterator[list[str]]:
        """Gzipped JSON-lines files of at least ``batch_size`` records, cut where a page
        ends (when a page's commit is queued), streamed: memory does not grow with the size
        of a file."""
        storage = batch_config.storage
        sync_id = f"{storage.prefix or ''}{self.tap_name}--{self.name}-{uuid4()}"  # type: ignore[attr-defined]
        size = batch_config.batch_size
        encode = encoder.encode_into
        number = 0
        record = next(records, None)
        while record is not None:
            number += 1
            filename = f"{sync_id}-{number}.json.gz"
            buffer = bytearray()
            count = 0
            with storage.open(filename, "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL) as gz, \
                    _Compressor(gz) as compressor:
                while record is not None:
                    encode(record, buffer, len(buffer))
                    buffer.extend(b"\n")
                    count += 1
                    if len(buffer) >= WRITE_BUFFER_BYTES:
                        compressor.write(buffer)
                        buffer = bytearray()
                    queued = len(self._pending or ())
                    record = next(records, None)
                    # Pulling the next record ran the page's end: a commit was queued.
                    if count >= size and len(self._pending or ()) > queued:
                        break
                compressor.write(buffer)
            yield [storage.get_url(filename)]


class _Compressor:
    """gzip on a second thread: zlib releases the GIL while it compresses, so the records of
    the next slice are read and encoded meanwhile. At most ``MAX_QUEUED`` slices wait."""

    MAX_QUEUED = 4

    def __init__(self, gz: gzip.GzipFile) -> None:
        self._gz = gz
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-gzip")
        self._queued: collections.deque[Future[int]] = collections.deque()

    def write(self, data: bytearray) -> None:
        while len(self._queued) >= self.MAX_QUEUED:
            self._queued.popleft().result()
        self._queued.append(self._pool.submit(self._gz.write, data))

    def __enter__(self) -> _Compressor:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            while self._queued:  # every slice is in the file (or its error raised)
                self._queued.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
