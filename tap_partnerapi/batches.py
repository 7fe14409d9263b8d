"""BATCH mode (singer-sdk ``batch_config``): records go to files, state follows the files.

With ``batch_config`` set, the SDK calls :meth:`get_batches` instead of writing RECORD
messages: records are written to jsonl.gz (or parquet) files by the SDK's own encoders and
announced in standard BATCH messages. The tap's invariant - a bookmark is never ahead of the
records and ledger rows it covers - is kept by deferring each page's commit (its ledger row,
bookmark and STATE) until the BATCH message of the file holding the page's last record has
been written. A crash in between leaves the state behind the files: the re-run reads those
pages again and the loader's upsert by (environment, id, _pa_version) absorbs the repeat.
"""

from __future__ import annotations

import typing as t

from singer_sdk.batch import Batcher

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig


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
        """As the SDK's, plus the deferred commits after each BATCH message.

        The SDK writes the BATCH message, then a STATE, when this generator yields; that
        STATE cannot be ahead (bookmarks move only in the commits, run on resumption). A
        page whose last record ends a file is committed after the next file (the encoder
        has not asked for the following record yet): late, never early.
        """
        batcher = Batcher(tap_name=self.tap_name, stream_name=self.name,  # type: ignore[attr-defined]
                          batch_config=batch_config)
        self._pending = []
        try:
            records = self._sync_records(context, write_messages=False)  # type: ignore[attr-defined]
            for manifest in batcher.get_batches(records=records):
                ready, self._pending = self._pending, []
                yield batch_config.encoding, manifest
                for commit in ready:
                    commit()
            ready, self._pending = self._pending, None
            for commit in ready:
                commit()
        finally:
            self._pending = None
