"""Every use of singer-sdk's private API, in one place.

The tap needs a few of singer-sdk's private hooks where the SDK has no public one: its
per-record path (half the tap's CPU went into work that has nothing to do here, see
docs/benchmarks.md), its config validation, its CLI entry point, and a handful of private
calls (write a STATE now, sync without writing RECORDs, log a request's duration). Each
override below names the SDK function it mirrors. They were read against singer-sdk
``SDK_VERSION``; tests/tap/test_tap_sdk_hooks.py fails on any other installed version, so an upgrade
is a deliberate diff: re-read each mirrored function in the new release, adapt, then bump
the constant. The same test fails if a private SDK name is used anywhere else in the
package: the rest of the tap goes through the public names defined here.
"""

from __future__ import annotations

import typing as t

from singer_sdk import Stream, Tap
from singer_sdk import singerlib as singer
from singer_sdk.exceptions import ConfigValidationError

# Public in use, private in location: no public module exports them in this release.
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, BatchFileFormat
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import _ConfigInput

from tap_partnerapi.preflight import load_state
from tap_partnerapi.writer import can_write_directly, write_direct

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

    from tap_partnerapi.tap import TapPartnerAPI

#: The singer-sdk release every override and private call below was checked against.
SDK_VERSION = "0.54.9"

__all__ = ["SDK_VERSION", "BaseBatchFileEncoding", "BatchConfig", "BatchFileFormat",
           "FastRecordPath", "PushedRecords", "StreamAccess", "TapHooks"]


class StreamAccess(Stream):
    """Public names for the private parts of ``singer_sdk.Stream`` the tap's streams use."""

    @property
    def tap(self) -> TapPartnerAPI:
        """The tap this stream belongs to (``Stream._tap``, set by ``Stream.__init__``)."""
        return self._tap  # type: ignore[return-value]

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
    change a record on its way out, it is written directly (``writer.write_direct``).
    """

    _direct_write: bool | None = None  # decided once per listing
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
        directly when nothing can change the record on its way out
        (``writer.can_write_directly``)."""
        direct = self._direct_write
        if direct is None:
            direct = self._direct_write = can_write_directly(self)
        if not direct:
            super()._write_record_message(record)
            return
        write_direct(self.name, record, self._stream_version)
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
        file is read by ``preflight.load_state`` (errors name the file), the tap learns
        where its state came from (``state_source``), and building and syncing the tap is
        left to :meth:`run_invoked` (the tap's exit statuses)."""
        super(Tap, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        config_input = config or _ConfigInput()

        def build() -> TapHooks:
            source = None if state is None else getattr(state, "name", None)
            tap = cls(config=config_input.config,
                      state=None if state is None else load_state(state.read(), source),
                      catalog=None if catalog is None else load_json(catalog.read()),
                      parse_env_config=config_input.parse_env, validate_config=True)
            tap.state_source = source  # type: ignore[attr-defined]
            return tap

        cls.run_invoked(build)
