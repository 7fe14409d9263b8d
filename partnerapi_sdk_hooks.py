"""Every use of singer-sdk's private API in this distribution, in one place.

The tap and the loader (target-duckdb-bulk) need a few of singer-sdk's private hooks where
the SDK has no public one: the tap's per-record path (half its CPU went into work that has
nothing to do here, see docs/benchmarks.md), its config validation, its CLI entry point and
a handful of private calls (write a STATE now, sync without writing RECORDs, log a
request's duration); the loader's record path (a RECORD line loaded unparsed, date-times
left to DuckDB), its STATE timing, and the batch-file types the SDK keeps in a private
module. Each override below names the SDK function it mirrors. They were read against
singer-sdk ``SDK_VERSION``; the SDK-hooks test fails on any other installed version, so an
upgrade is a deliberate diff: re-read each mirrored function in the new release, adapt,
then bump the constant. The same test fails if a private SDK name is used in any other
module of the distribution: the rest goes through the public names defined here.

A top-level module, not part of ``tap_partnerapi``: the loader uses it too, and depends on
nothing of the tap's. What differs per plugin comes in through public hooks
(``direct_writer``, ``read_state``, ``config_errors``, ``run_invoked``,
``schema_received``, ``before_state_message``).
"""

from __future__ import annotations

import typing as t

from singer_sdk import BatchSink, Stream, Tap, Target
from singer_sdk import singerlib as singer
from singer_sdk.exceptions import ConfigValidationError

# Public in use, private in location: no public module exports them in this release.
from singer_sdk.helpers._batch import (
    BaseBatchFileEncoding,
    BatchConfig,
    BatchFileFormat,
    StorageTarget,
)
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import _ConfigInput

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests
    from singer_sdk.io_base import SingerWriter

#: The singer-sdk release every override and private call below was checked against.
SDK_VERSION = "0.54.9"

#: The key under which a message reader hands a RECORD line over unparsed
#: (:meth:`TargetHooks._process_record_message`).
RAW_LINE = "_bulk_raw_line"

#: ``write(stream_name, record, version)``: one RECORD line written without the SDK's path.
DirectWriter = t.Callable[[str, dict[str, t.Any], int | None], None]

__all__ = ["RAW_LINE", "SDK_VERSION", "BaseBatchFileEncoding", "BatchConfig",
           "BatchFileFormat", "DirectWriter", "FastRecordPath", "PushedRecords",
           "SinkHooks", "StorageTarget", "StreamAccess", "TapHooks", "TargetHooks"]


class StreamAccess(Stream):
    """Public names for the private parts of ``singer_sdk.Stream`` the tap's streams use."""

    @property
    def message_writer(self) -> SingerWriter:
        """The writer the stream's messages go through: its tap's (``Stream._tap``, set by
        ``Stream.__init__``; the SDK writes every message with ``self._tap.write_message``)."""
        return self._tap.message_writer

    def write_state(self) -> None:
        """A STATE message now, if anything changed since the last one
        (``singer_sdk.streams.core.Stream._write_state_message``)."""
        self._write_state_message()

    def records_unwritten(self, context: t.Any) -> Iterator[dict[str, t.Any]]:
        """The stream's records, state kept as usual, no RECORD message written: what the
        SDK's own ``singer_sdk.streams.core.Stream.get_batches`` encodes
        (``Stream._sync_records(context, write_messages=False)``)."""
        return self._sync_records(context, write_messages=False)  # type: ignore[return-value]


class PushedRecords(StreamAccess):
    """A stream whose records are pushed to it by other streams' syncs (:meth:`push`)."""

    _schema_sent = False

    def _write_schema_message(self) -> None:
        # Mirrors singer_sdk.streams.core.Stream._write_schema_message: rows can be pushed
        # before the SDK syncs this stream, which writes the SCHEMA again; one is enough.
        if not self._schema_sent:
            self._schema_sent = True
            super()._write_schema_message()

    def push(self, record: dict[str, t.Any]) -> None:
        """Write ``record`` now (its SCHEMA first, once), as the SDK writes a synced one
        (``singer_sdk.streams.core.Stream._write_record_message``)."""
        self._write_schema_message()
        self._write_record_message(record)


class FastRecordPath(StreamAccess):
    """The SDK's per-record path, minus the work that has nothing to do for this tap.

    Records are already JSON-typed, carry exactly the declared fields and their partition
    keys, and bookmarks move per page (``PartnerStream.advance_bookmark``); when nothing can
    change a record on its way out, it is written by :meth:`direct_writer`'s function.
    """

    _direct_write: DirectWriter | bool | None = None  # decided once per listing: False = SDK's
    _deselect_cached: bool | None = None
    _deselect_mask: t.Any = None

    def reset_record_path(self) -> None:
        """Selection is settled once a listing starts: look at it again (every partition)."""
        self._deselect_cached = self._deselect_mask = None
        self._direct_write = None

    @property
    def deselects_properties(self) -> bool:
        """Whether any property of this stream is deselected (cached per mask)."""
        mask = self.mask
        if self._deselect_mask is not mask:
            self._deselect_mask = mask
            self._deselect_cached = any(breadcrumb and not selected
                                        for breadcrumb, selected in mask.items())
        return bool(self._deselect_cached)

    def direct_writer(self) -> DirectWriter | None:
        """The function that writes a record when nothing can change it on its way out, or
        None for the SDK's path; asked once per listing (after :meth:`reset_record_path`)."""
        return None

    def log_request_duration(self, response: requests.Response) -> None:
        """The SDK's request-duration metric for one response
        (``singer_sdk.streams.rest.RESTStream._write_request_duration_log``)."""
        self._write_request_duration_log(  # type: ignore[attr-defined]
            endpoint=self.path, response=response, context=None,  # type: ignore[attr-defined]
            extra_tags=None)

    def _generate_record_messages(self, record: dict) -> Iterator[singer.RecordMessage]:
        """Mirrors ``singer_sdk.streams.core.Stream._generate_record_messages``, minus two
        walks of every record that have nothing to do here.

        ``pop_deselected_record_properties`` recurses into every nested object (``_pa_raw``,
        ``payload``) looking up the selection mask - half the tap's CPU - even when every
        property is selected; it runs only when something is deselected. Conformance is
        ``NONE`` (``PartnerStream.TYPE_CONFORMANCE_LEVEL``), so ``conform_record_data_types``
        is skipped.
        """
        # _deselect_cached: None until computed once per listing, then a bool.
        if self._deselect_cached is not False and self.deselects_properties:
            pop_deselected_record_properties(record, self.schema, self.mask)
        # No time_extracted: every record's page has its reception time in the ledger, and
        # 47 bytes a record is ~11 % of an event's Singer line (design.md, "Tap output").
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(stream=stream_map.stream_alias, record=mapped,
                                           version=self._stream_version)

    def _write_record_message(self, record: dict) -> None:
        """Mirrors ``singer_sdk.streams.core.Stream._write_record_message``, but written
        by :meth:`direct_writer`'s function when there is one."""
        write = self._direct_write
        if write is None:
            write = self._direct_write = self.direct_writer() or False
        if write is False:
            super()._write_record_message(record)
            return
        write(self.name, record, self._stream_version)  # type: ignore[operator]
        self.state_manager.is_flushed = False

    def _process_record(self, record: dict, child_context: t.Any = None,
                        partition_context: t.Any = None) -> None:
        # Mirrors singer_sdk.streams.core.Stream._process_record: no child streams, and
        # the partition keys (``_pa_window_*``, ``resource``) are already fields of every
        # record, so there is nothing to do per record.
        return

    def _increment_stream_state(self, latest_record: dict, *, context: t.Any = None) -> None:
        # Mirrors singer_sdk.streams.core.Stream._increment_stream_state: bookmarks move
        # per page instead (``advance_bookmark``), state is only written at page
        # boundaries, after the page's ledger row, so per-record updates are wasted.
        return


class TapHooks(Tap):
    """The tap's config validation and CLI entry, on the SDK's private ones."""

    @staticmethod
    def config_errors(config: t.Mapping[str, t.Any]) -> list[str]:
        """Errors JSON Schema cannot express, each naming its setting (none here)."""
        return []

    @staticmethod
    def read_state(text: str, source: str | None) -> dict[str, t.Any]:
        """The ``--state`` file's content (``source``: its name) as a state dict, as the
        SDK's ``Tap.invoke`` reads it."""
        return load_json(text)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Mirrors singer_sdk.plugin_base.PluginBase._validate_config: the JSON Schema
        # errors, plus config_errors, in one ConfigValidationError.
        errors = super()._validate_config(raise_errors=False)
        errors += self.config_errors(self._config)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    @classmethod
    def run_invoked(cls, build: Callable[[], TapHooks]) -> None:
        """Build the tap and sync it (the end of the SDK's ``Tap.invoke``)."""
        build().sync_all()

    @classmethod
    def invoke(cls, *, about: bool = False, about_format: str | None = None,
               config: t.Any = None, state: t.IO[str] | None = None,
               catalog: t.IO[str] | None = None) -> None:
        """Mirrors ``singer_sdk.tap_base.Tap.invoke`` step by step, except that the state
        file is read by :meth:`read_state` (errors can name the file), the tap learns
        where its state came from (``state_source``), and building and syncing the tap is
        left to :meth:`run_invoked` (the tap's exit statuses)."""
        super(Tap, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        config_input = config or _ConfigInput()

        def build() -> TapHooks:
            source = None if state is None else getattr(state, "name", None)
            tap = cls(config=config_input.config,
                      state=None if state is None else cls.read_state(state.read(), source),
                      catalog=None if catalog is None else load_json(catalog.read()),
                      parse_env_config=config_input.parse_env, validate_config=True)
            tap.state_source = source  # type: ignore[attr-defined]
            return tap

        cls.run_invoked(build)


class SinkHooks(BatchSink):
    """A batch sink whose records keep their date-time strings: the loader casts them."""

    def _parse_timestamps_in_record(self, record: dict, schema: dict,
                                    treatment: t.Any) -> None:
        """Mirrors ``singer_sdk.sinks.core.Sink._parse_timestamps_in_record``, minus the
        parse: date-time strings are cast in bulk when the batch is staged (an invalid one
        fails the batch, as the SDK's default ERROR treatment does). The SDK's per-record
        parse is ~14 us a record, about as much as everything else it does."""


class TargetHooks(Target):
    """The SDK's message handling, plus RECORD lines a reader passed on unparsed.

    A message reader may hand over a RECORD line of a stream that needs no Python work as
    ``{"type": "RECORD", "stream": ..., RAW_LINE: line}``; that line goes to its sink's
    ``write_message_line`` as it is. Which streams qualify is the target's business
    (:meth:`schema_received`).
    """

    def schema_received(self, stream: str) -> None:
        """Called after each SCHEMA message has been processed (sinks and maps updated)."""

    def before_state_message(self) -> None:
        """Called before each STATE message goes out (every sink holding its records has
        been drained)."""

    def _process_schema_message(self, message_dict: dict) -> None:
        # Mirrors singer_sdk.target_base.Target._process_schema_message, then tells the
        # target (stream maps are known only once the SCHEMA is processed).
        super()._process_schema_message(message_dict)
        self.schema_received(message_dict["stream"])

    def _process_record_message(self, message_dict: dict) -> None:
        """Mirrors ``singer_sdk.target_base.Target._process_record_message``, except for a
        raw line: it goes to its sink's spool as it is, with the same tallies, batch-full
        drain and max-age drain."""
        line = message_dict.get(RAW_LINE)
        if line is None:
            super()._process_record_message(message_dict)
            return
        sink = self.get_sink(message_dict["stream"])
        sink.write_message_line(line)  # type: ignore[attr-defined]
        sink.tally_record_read()
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.logger.info("Target sink for '%s' is full (%s records). Draining...",
                             sink.stream_name, sink.current_size)
            self.drain_one(sink)
        self._handle_max_record_age()

    def _write_state_message(self, state: dict) -> None:
        # Mirrors singer_sdk.target_base.Target._write_state_message, after the target's
        # before_state_message (a drained batch may still be loading on another thread).
        self.before_state_message()
        super()._write_state_message(state)
