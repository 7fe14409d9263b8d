"""Offline check of target-snowflake's BATCH path on the backfill's own messages.

Run with target-snowflake's interpreter (it imports the installed target, never ours):

    tap-partnerapi --config backfill.json --catalog catalog.json > out.jsonl
    .meltano/loaders/target-snowflake/venv/bin/python scripts/verify_snowflake_batch.py out.jsonl

Snowflake itself cannot be reached (and fakesnow has no PUT/stage), so this checks what can
be checked without it: every BATCH message parses with the target's own singer-sdk, its
encoding takes the target's JSONL branch (PUT + MERGE from the user stage), every manifest
entry is a local file:// URI (PUT uploads local files only) that exists, is gzip (the file
format's COMPRESSION = AUTO detects it) and holds one JSON object per line carrying every
property of the stream's SCHEMA (the MERGE selects ``$1:<property>``), and the PUT
statement the connector would send. Prints one line per stream; exits 1 on any failure.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

from singer_sdk.helpers._batch import BatchFileFormat, SDKBatchMessage
from target_snowflake.connector import SnowflakeConnector


def main(path: str) -> int:
    schemas: dict[str, dict] = {}
    rows: dict[str, int] = defaultdict(int)
    files: dict[str, int] = defaultdict(int)
    failures: list[str] = []
    connector = SnowflakeConnector(config={"account": "offline", "user": "offline"})
    put = None
    for line in Path(path).read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
        if message["type"] != "BATCH":
            continue
        batch = SDKBatchMessage.from_dict(message)
        stream = batch.stream
        if batch.encoding.format != BatchFileFormat.JSONL:
            failures.append(f"{stream}: encoding {batch.encoding.format} is not the JSONL path")
        properties = set(schemas[stream]["properties"])
        for url in batch.manifest:
            parsed = urlparse(url)
            if parsed.scheme != "file" or not Path(parsed.path).is_file():
                failures.append(f"{stream}: {url} is not a local file PUT can upload")
                continue
            put = put or str(connector._get_put_statement(sync_id=stream, file_uri=url)[0])
            files[stream] += 1
            with gzip.open(parsed.path, "rt") as f:
                for number, text in enumerate(f, 1):
                    record = json.loads(text)
                    missing = properties - set(record) if isinstance(record, dict) else {"*"}
                    if missing:
                        failures.append(f"{stream}: {url}:{number} lacks {sorted(missing)}")
                        break
                    rows[stream] += 1
    for stream in sorted(files):
        print(f"{stream}: {files[stream]} file(s), {rows[stream]} rows, JSONL path, local gzip")
    print(f"PUT statement: {put}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
