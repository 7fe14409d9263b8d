"""The Singer message writer: msgspec encoding, one flush per non-RECORD message.

The SDK's msgspec writer flushes stdout after every message (a syscall per record).
Flushing before each STATE (and SCHEMA, etc.) keeps the only ordering that matters - every
record is out before the state that covers it - at a fraction of the cost.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage


class PartnerWriter(MsgSpecWriter):
    def write_message(self, message) -> None:  # type: ignore[no-untyped-def]
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
