"""The Singer message writer: msgspec encoding, one flush per non-RECORD message.

The SDK's msgspec writer flushes stdout after every message (a syscall per record).
Flushing before each STATE (and SCHEMA, etc.) keeps the only ordering that matters - every
record is out before the state that covers it - at a fraction of the cost.

``write_direct`` is the streams' RECORD path when nothing can change a record on its way
out: the same bytes as the SDK's path, without its per-record message objects and identity
stream map (13 % of the tap's CPU in the profile of docs/benchmarks.md). Splicing the
canonical JSON of ``_pa_raw`` (already encoded for ``_pa_version``) in as ``msgspec.Raw``
was measured too: 0.25 us of ~11 us per record, below the bench's noise, so not done.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from partnerapi_sdk_hooks import FastRecordPath


class PartnerWriter(MsgSpecWriter):
    def write_message(self, message) -> None:  # type: ignore[no-untyped-def]
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()


def can_write_directly(stream: FastRecordPath) -> bool:
    """The tap's own writer, the identity map (no stream map, no flattening) and every
    property selected: the SDK path would write the record as it is."""
    maps = stream.stream_maps
    return (type(stream.message_writer) is PartnerWriter and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream.name and not maps[0].flattening_enabled
            and not stream.deselects_properties)


def write_direct(stream: str, record: dict[str, t.Any], version: int | None) -> None:
    """One RECORD line: the dict ``RecordMessage.to_dict`` builds (no ``time_extracted``, as
    ``partnerapi_sdk_hooks.FastRecordPath._generate_record_messages``), through the same
    encoder and buffer as ``PartnerWriter``."""
    message: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
    if version is not None:
        message["version"] = version
    sys.stdout.buffer.write(serialize_jsonl(message))
