"""The embedded loader must not lose records.

target-duckdb 0.8.0 loads each batch with a CSV `COPY` that does not say `HEADER false`; from
duckdb 1.3 on the CSV sniffer may take the first row for a header and silently drop it. The
project pins the loader's own virtualenv to duckdb 1.2.2 (meltano.yml). These tests push
records through the real loader, invoked by Meltano with the project's configuration, in
several batches, and count the rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).with_name("meltano")
TARGET_VENV_BIN = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin"

N_RECORDS = 53
BATCH_SIZE = 10  # 6 batches: a first-row-per-batch loss would show as 6 missing rows

SCHEMA = {
    "type": "object",
    "properties": {
        "environment": {"type": "string"},
        "id": {"type": "string"},
        "_pa_version": {"type": "string"},
        "amount": {"type": ["integer", "null"]},
        "currency": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "method": {"type": ["object", "null"]},
        "_pa_raw": {"type": ["object", "null"]},
    },
}
KEY = ["environment", "id", "_pa_version"]


def _record(i: int) -> dict:
    raw = {
        "id": f"pay_{i:06d}",
        "amount": 1000 + i,
        "currency": "eur",
        "status": "succeeded",
        # Commas, quotes and a newline: the CSV round trip must keep them intact.
        "method": {"type": "card", "card_brand": 'vi,"sa"\n', "last4": f"{i % 10000:04d}"},
        "updated_at": f"2026-11-21T10:{i // 60:02d}:{i % 60:02d}.000000Z",
    }
    version = hashlib.sha256(
        json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return {"environment": "sandbox", **raw, "_pa_version": version, "_pa_raw": raw}


def _singer_lines(stream: str, records: list[dict]) -> str:
    msgs: list[dict] = [
        {"type": "SCHEMA", "stream": stream, "schema": SCHEMA, "key_properties": KEY}
    ]
    msgs += [{"type": "RECORD", "stream": stream, "record": r} for r in records]
    msgs.append({"type": "STATE", "value": {"bookmarks": {stream: {"n": len(records)}}}})
    return "".join(json.dumps(m) + "\n" for m in msgs)



def _load_via_meltano(db: Path, stream: str, records: list[dict]) -> None:
    env = {
        **os.environ,
        "PARTNERAPI_DUCKDB_PATH": str(db),
        "TARGET_DUCKDB_BATCH_SIZE_ROWS": str(BATCH_SIZE),
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(db.parent)),
    }
    proc = subprocess.run(
        [str(MELTANO), "invoke", "target-duckdb"],
        input=_singer_lines(stream, records),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def loader_installed() -> None:
    if not (TARGET_VENV_BIN / "target-duckdb").exists():
        pytest.fail("target-duckdb is not installed: run `make test` (it runs meltano install)")


def test_loader_venv_pins_duckdb_below_1_3(loader_installed: None) -> None:
    out = subprocess.run(
        [str(TARGET_VENV_BIN / "python"), "-c", "import duckdb; print(duckdb.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "1.2.2"


def test_n_records_make_n_rows_in_several_batches(loader_installed: None, tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"  # via PARTNERAPI_DUCKDB_PATH: proves the override too
    records = [_record(i) for i in range(N_RECORDS)]
    _load_via_meltano(db, "payments", records)

    rows = _rows(db, "select id, amount, method from raw.payments order by id")
    assert len(rows) == N_RECORDS
    assert [r[0] for r in rows] == [r["id"] for r in records]
    assert json.loads(rows[0][2])["card_brand"] == 'vi,"sa"\n'


def test_reloading_the_same_versions_adds_no_row(loader_installed: None, tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    records = [_record(i) for i in range(N_RECORDS)]
    _load_via_meltano(db, "payments", records)
    changed = {**records[0], "_pa_version": "0" * 64}  # a new version of one record
    _load_via_meltano(db, "payments", [*records, changed])

    (count,) = _rows(db, "select count(*) from raw.payments")[0]
    distinct_sql = "select count(distinct (environment, id, _pa_version)) from raw.payments"
    (distinct,) = _rows(db, distinct_sql)[0]
    assert count == distinct == N_RECORDS + 1


def test_unpinned_duckdb_would_lose_rows(loader_installed: None, tmp_path: Path) -> None:
    """Control: the same loader on duckdb >= 1.3 loses rows, which is why the pin exists."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "target-duckdb==0.8.0",
            "duckdb==1.4.4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install the control loader: {install.stderr[-500:]}")
    db = tmp_path / "control.duckdb"
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"path": str(db), "default_target_schema": "raw", "batch_size_rows": BATCH_SIZE})
    )
    subprocess.run(
        [str(venv / "bin" / "target-duckdb"), "--config", str(config)],
        input=_singer_lines("payments", [_record(i) for i in range(N_RECORDS)]),
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    (count,) = _rows(db, "select count(*) from raw.payments")[0]
    assert count < N_RECORDS
