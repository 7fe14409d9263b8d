"""Offline check of target-snowflake's BATCH path on the backfill's own messages.

Run with target-snowflake's interpreter (it imports the installed target, never ours):

    tap-partnerapi --config backfill.json --catalog catalog.json > out.jsonl
    .meltano/loaders/target-snowflake/venv/bin/python scripts/verify_snowflake_batch.py out.jsonl

Snowflake itself cannot be reached (and fakesnow has no PUT/stage), so this checks what can
be checked without it: every BATCH message parses with the target's own singer-sdk, its
encoding takes the target's JSONL branch (PUT + MERGE from the user stage), every manifest
entry is a local file:// URI (PUT uploads local files only) that exists, is gzip (the file
format's COMPRESSION = AUTO detects it) and holds one JSON object per line carrying every
property of the stream's SCHEMA, and the PUT and MERGE statements the connector renders
for them (the MERGE reads every property as ``$1:<property>``, keyed on the stream's key
properties). Prints them; exits 1 on any failure.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy
from singer_sdk.helpers._batch import BatchFileFormat, SDKBatchMessage
from target_snowflake.connector import DEFAULT_RESERVED_WORDS, SnowflakeConnector


class OfflineConnector(SnowflakeConnector):
    """The target's connector minus the one round trip its engine makes when created
    (``SHOW DATABASES``): SQLAlchemy engines connect lazily, so the target's own code renders
    every statement below and nothing is sent anywhere."""

    def create_engine(self) -> sqlalchemy.Engine:
        engine = sqlalchemy.create_engine(self.sqlalchemy_url,
                                          connect_args=self.get_connect_args(), echo=False)
        engine.dialect.identifier_preparer.reserved_words |= DEFAULT_RESERVED_WORDS
        return engine


def main(path: str) -> int:
    schemas: dict[str, dict] = {}
    rows: dict[str, int] = defaultdict(int)
    files: dict[str, int] = defaultdict(int)
    failures: list[str] = []
    connector = OfflineConnector(config={"account": "offline", "user": "offline",
                                         "password": "offline", "database": "DB"})
    keys: dict[str, list[str]] = {}
    put = None
    for line in Path(path).read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
            keys[message["stream"]] = message["key_properties"]
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
    merges = {}
    for stream in sorted(files):
        print(f"{stream}: {files[stream]} file(s), {rows[stream]} rows, JSONL path, local gzip")
        merge = str(connector._get_merge_from_stage_statement(
            full_table_name=f"DB.RAW.{stream.upper()}", schema=schemas[stream],
            sync_id=f"{stream}-SYNC", file_format="DB.RAW.FORMAT",
            key_properties=keys[stream])[0])
        # The MERGE reads each property as $1:<name> of the staged JSON object.
        for name in schemas[stream]["properties"]:
            if f"$1:{connector.formatter.format_collation(name)}::" not in merge:
                failures.append(f"{stream}: the MERGE does not read property {name}")
        merges[stream] = merge
    print(f"PUT statement: {put}")
    for stream, merge in merges.items():
        print(f"MERGE {stream}: {merge}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
