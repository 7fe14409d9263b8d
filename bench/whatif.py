"""The tap with one proposed optimisation applied in-process, to measure its gain before
anyone changes tap_partnerapi/ (bench-only; never used in production).

    python -m bench.whatif --config FILE --catalog FILE

``big-stdout-buffer`` (the one applied; measured 1.14x, 1.17x, 1.06x, 0.79x, 0.87x in five
paired runs: no reliable gain - kept as the harness for the next what-if). The hypothesis:
stdout's buffer is 8 KiB, about six RECORD
messages of ``events``, so the main thread makes a ``write`` syscall every few records.
Each syscall releases the GIL; since the tap fetches page N+1 on a worker thread while it
processes page N, the worker (reading and decoding 2 MB pages) then holds the GIL and the
main thread waits up to a switch interval (5 ms) to get it back - the GIL convoy. py-spy
shows that wait as the main thread sitting on ``PartnerWriter.write_message``. A 4 MiB
buffer makes those syscalls ~500x rarer; ``flush()`` before STATE is unchanged, so a
record still never trails the state that covers it.

(A first what-if, skipping the SDK's per-record ``pop_deselected_record_properties`` walk,
measured 1.85x and has since landed in the tap, commit cee3b18.)
"""

from __future__ import annotations

import io
import sys

BUFFER_BYTES = 4 << 20


def big_stdout_buffer() -> None:
    raw = io.FileIO(sys.stdout.fileno(), "w", closefd=False)
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw, BUFFER_BYTES), encoding="utf-8",
                                  write_through=False)


def main() -> None:
    big_stdout_buffer()
    from tap_partnerapi.tap import TapPartnerAPI

    try:
        TapPartnerAPI.cli()
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    main()
