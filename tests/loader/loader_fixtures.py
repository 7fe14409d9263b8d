"""Singer input for the loader tests and ways to run the real loader on it: through Meltano
(the project's plugin definition and settings) or its installed executable directly."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from tests.support.meltano_fixtures import own_sys_dir

ROOT = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).with_name("meltano")
LOADER = "target-duckdb-bulk"
LOADER_BIN = ROOT / ".meltano" / "loaders" / LOADER / "venv" / "bin" / LOADER

KEY = ["environment", "id", "_pa_version"]

# Today's raw row: typed vendor fields next to the raw object and lineage.
SCHEMA_V1 = {
    "type": "object",
    "properties": {
        "environment": {"type": "string"},
        "id": {"type": "string"},
        "_pa_version": {"type": "string"},
        "amount": {"type": ["integer", "null"]},
        "fee_rate": {"type": ["number", "null"]},
        "captured": {"type": ["boolean", "null"]},
        "currency": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "method": {"type": ["object", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "_pa_raw": {"type": ["object", "null"]},
        "_pa_run_id": {"type": "string"},
        "_pa_request_id": {"type": ["string", "null"]},
    },
}

# Raw row v2 (decisions.md): keys, lineage and the vendor's object, nothing typed.
SCHEMA_V2 = {
    "type": "object",
    "properties": {
        "environment": {"type": "string"},
        "id": {"type": "string"},
        "_pa_version": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
        "_pa_run_id": {"type": "string"},
        "_pa_extracted_at": {"type": "string", "format": "date-time"},
        "_pa_request_id": {"type": ["string", "null"]},
        "_pa_raw": {"type": "object"},
    },
}


def version_of(raw: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def raw_object(i: int) -> dict[str, Any]:
    return {
        "id": f"pay_{i:06d}",
        "amount": 1000 + i,
        "fee_rate": 0.029,
        "captured": i % 2 == 0,
        "currency": "eur",
        # Commas, quotes, a newline and non-ASCII: nothing may be mangled on the way.
        "method": {"type": "card", "card_brand": 'vi,"sa"\n€', "last4": f"{i % 10000:04d}"},
        "tags": ["a", f"t{i % 3}"],
        "updated_at": f"2026-11-21T10:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000000:06d}Z",
    }


def record_v1(i: int, run_id: str = "run-1") -> dict[str, Any]:
    raw = raw_object(i)
    return {"environment": "sandbox", **raw, "_pa_version": version_of(raw), "_pa_raw": raw,
            "_pa_run_id": run_id, "_pa_request_id": f"req_{i // 10:04d}"}


def record_v2(i: int, run_id: str = "run-1") -> dict[str, Any]:
    raw = raw_object(i)
    return {"environment": "sandbox", "id": raw["id"], "_pa_version": version_of(raw),
            "updated_at": raw["updated_at"], "_pa_run_id": run_id,
            "_pa_extracted_at": "2026-11-21T11:00:00.000000Z",
            "_pa_request_id": f"req_{i // 10:04d}", "_pa_raw": raw}


def schema_message(stream: str, schema: dict[str, Any], key: list[str] | None = None) -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": schema,
            "key_properties": KEY if key is None else key}


def record_messages(stream: str, records: Iterable[dict]) -> list[dict]:
    return [{"type": "RECORD", "stream": stream, "record": r,
             "time_extracted": "2026-11-21T11:00:00+00:00"} for r in records]


def state_message(value: dict) -> dict:
    return {"type": "STATE", "value": value}


def singer_text(messages: Iterable[dict]) -> str:
    # Compact separators, type first: the spelling singer-sdk taps write.
    return "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages)


def meltano_env(tmp: Path, db: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_DUCKDB")}
    env.update({
        "PARTNERAPI_DUCKDB_PATH": str(db),
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
        "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(tmp)),
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
    })
    env.update({f"TARGET_DUCKDB_BULK_{k.upper()}": v for k, v in settings.items()})
    return env


def load_via_meltano(tmp: Path, db: Path, messages: Iterable[dict], **settings: str) -> str:
    """``meltano invoke target-duckdb-bulk`` with the project's settings; its stdout (STATE)."""
    proc = subprocess.run([str(MELTANO), "invoke", LOADER], input=singer_text(messages),
                          cwd=ROOT, env=meltano_env(tmp, db, **settings),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def loader_config(tmp: Path, db: Path, **settings: Any) -> Path:
    config = {"path": str(db), "default_target_schema": "raw", "validate_records": False,
              "batch_size_rows": 10, **settings}
    path = tmp / f"config-{db.stem}.json"
    path.write_text(json.dumps(config))
    return path


def load_direct(tmp: Path, db: Path, messages: Iterable[dict], **settings: Any) -> str:
    """The installed loader executable without Meltano (for the many small runs)."""
    proc = subprocess.run([str(LOADER_BIN), "--config", str(loader_config(tmp, db, **settings))],
                          input=singer_text(messages), capture_output=True, text=True,
                          timeout=300, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def table(db: Path, name: str) -> list[tuple]:
    """Every row of ``raw.<name>``, all columns but the load stamp (the time of the commit:
    two loads of the same rows differ there by design; test_loader checks it), in key
    order."""
    return rows(db, f"SELECT * EXCLUDE (_sdc_batched_at) FROM raw.{name} ORDER BY ALL")
