"""BATCH messages: files written by singer-sdk's own JSONL batcher (gzip) or as Parquet in
the documented layout (one record a row) load into exactly the rows the RECORD path gives."""

from __future__ import annotations

import duckdb
import pytest
from singer_sdk.contrib.batch_encoder_jsonl import JSONLinesBatcher
from singer_sdk.helpers._batch import BatchConfig

from tests.loader.loader_fixtures import (
    KEY,
    SCHEMA_V1,
    SCHEMA_V2,
    load_direct,
    load_via_meltano,
    record_messages,
    record_v1,
    record_v2,
    rows,
    schema_message,
    table,
)

pytestmark = pytest.mark.usefixtures("loader_installed")

N = 47


def _sdk_jsonl_batches(tmp_path, stream: str, records: list[dict], per_file: int) -> list[str]:
    """The manifests singer-sdk's batcher writes (file:// URLs of .json.gz files)."""
    config = BatchConfig.from_dict({
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": (tmp_path / "batches").as_uri(), "prefix": "t-"},
        "batch_size": per_file})
    (tmp_path / "batches").mkdir(exist_ok=True)
    files: list[str] = []
    for manifest in JSONLinesBatcher("tap-test", stream, config).get_batches(iter(records)):
        files += manifest
    return files


def _batch_message(stream: str, fmt: str, files: list[str]) -> dict:
    encoding = {"format": fmt, "compression": "gzip" if fmt == "jsonl" else None}
    return {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": files}


@pytest.mark.parametrize(("schema", "make"), [(SCHEMA_V1, record_v1), (SCHEMA_V2, record_v2)],
                         ids=["today", "raw-v2"])
def test_jsonl_batch_and_record_paths_give_identical_rows(tmp_path, schema, make) -> None:
    records = [make(i) for i in range(N)]
    by_record, by_batch = tmp_path / "record.duckdb", tmp_path / "batch.duckdb"
    load_direct(tmp_path, by_record, [schema_message("payments", schema),
                                      *record_messages("payments", records)])
    files = _sdk_jsonl_batches(tmp_path, "payments", records, per_file=10)
    assert len(files) == 5 and files[0].startswith("file://")
    load_via_meltano(tmp_path, by_batch, [schema_message("payments", schema),
                                          _batch_message("payments", "jsonl", files)])
    assert len(table(by_batch, "payments")) == N
    assert table(by_batch, "payments") == table(by_record, "payments")


def test_parquet_batch_and_plain_paths(tmp_path) -> None:
    """Parquet files (objects as structs, as pyarrow writes them) given as local paths."""
    records = [record_v2(i) for i in range(N)]
    by_record, by_batch = tmp_path / "record.duckdb", tmp_path / "batch.duckdb"
    load_direct(tmp_path, by_record, [schema_message("events", SCHEMA_V2),
                                      *record_messages("events", records)])
    jsonl = _sdk_jsonl_batches(tmp_path, "events", records, per_file=N)
    parquet = tmp_path / "events.parquet"
    with duckdb.connect() as con:
        src = jsonl[0].removeprefix("file://")
        con.execute(f"COPY (SELECT * FROM read_json('{src}')) TO '{parquet}' (FORMAT parquet)")
        kinds = dict(con.execute(f"SELECT name, type FROM parquet_schema('{parquet}')")
                     .fetchall())
    assert kinds["_pa_raw"] is None  # a group (struct), not a JSON string
    load_direct(tmp_path, by_batch, [schema_message("events", SCHEMA_V2),
                                     _batch_message("events", "parquet", [str(parquet)])])
    assert table(by_batch, "events") == table(by_record, "events")


def test_batch_upserts_like_records(tmp_path) -> None:
    """A BATCH of versions already loaded by RECORD changes nothing; a later file's copy of
    a key replaces the earlier file's."""
    db = tmp_path / "wh.duckdb"
    records = [record_v1(i) for i in range(N)]
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               *record_messages("payments", records)])
    before = table(db, "payments")
    files = _sdk_jsonl_batches(tmp_path, "payments", records, per_file=20)
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               _batch_message("payments", "jsonl", files)])
    assert table(db, "payments") == before

    again = [{**records[3], "_pa_run_id": "first"}]
    later = [{**records[3], "_pa_run_id": "second"}]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [*_sdk_jsonl_batches(tmp_path / "a", "payments", again, 10),
             *_sdk_jsonl_batches(tmp_path / "b", "payments", later, 10)]
    load_direct(tmp_path, db, [schema_message("payments", SCHEMA_V1),
                               _batch_message("payments", "jsonl", files)])
    assert rows(db, "SELECT count(*) FROM raw.payments") == [(N,)]
    key = " AND ".join(f"{k} = '{records[3][k]}'" for k in KEY)
    assert rows(db, f"SELECT _pa_run_id FROM raw.payments WHERE {key}") == [("second",)]
