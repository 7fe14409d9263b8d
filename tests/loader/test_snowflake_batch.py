"""target-snowflake 0.20.4 and the backfill's BATCH files, as far as works offline.

Snowflake cannot be reached and fakesnow has no stage, PUT or COPY: the installed target's
own code (its interpreter, its singer-sdk) parses the tap's BATCH messages, takes its JSONL
branch, and renders the PUT and MERGE it would send; the files must be local gzip JSON lines
holding every property the MERGE reads (scripts/verify_snowflake_batch.py, docs/tap.md).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.tap_fixtures import run_tap, tap_config

ROOT = Path(__file__).resolve().parents[2]
TARGET_PYTHON = ROOT / ".meltano/loaders/target-snowflake/venv/bin/python"
SCRIPT = ROOT / "scripts/verify_snowflake_batch.py"
BACKFILL_BATCH = {"encoding": {"format": "jsonl", "compression": "gzip"}, "batch_size": 400}


def _verify(messages: list[dict], tmp: Path) -> subprocess.CompletedProcess:
    out = tmp / "tap.out.jsonl"
    out.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return subprocess.run([str(TARGET_PYTHON), str(SCRIPT), str(out)], capture_output=True,
                          text=True, timeout=120)


def test_target_snowflake_takes_the_backfill_files_on_its_put_merge_path(sandbox, tmp_path):
    sb = sandbox(seed=13)
    config = tap_config(sb, page_size=200, batch_config={
        **BACKFILL_BATCH, "storage": {"root": f"file://{tmp_path}/files", "prefix": "bf-"}})
    run = run_tap(config, streams=["invoices", "events", "coverage_ledger"])
    proc = _verify(run.messages, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "FAIL" not in proc.stdout
    events = next(line for line in proc.stdout.splitlines() if line.startswith("events: "))
    assert f" file(s), {len(sb.truth('events'))} rows, JSONL path, local gzip" in events
    merge = next(line for line in proc.stdout.splitlines() if line.startswith("MERGE events"))
    assert "$1:_pa_raw::VARIANT" in merge
    assert "on d.environment = s.environment and d.event_id = s.event_id and " \
           "d._pa_version = s._pa_version" in merge
    assert "put :file_uri '@~/target-snowflake/" in proc.stdout

    # The check can fail: a parquet manifest, or a file the MERGE could not read, is refused.
    broken = [dict(m, encoding={"format": "parquet", "compression": None})
              if m["type"] == "BATCH" else m for m in run.messages]
    assert _verify(broken, tmp_path).returncode == 1
