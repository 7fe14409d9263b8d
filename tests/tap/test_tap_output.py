"""The RECORD lines of the real executable: the direct writer path (no stream map, see
tap_partnerapi/writer.py) and the SDK's message path (a stream map configured) emit the
same records."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess

from tap_partnerapi.clock import format_ts, parse_ts
from tests.support.tap_fixtures import TAP_BIN, run_cli, select, tap_config

# Per request, so they differ between two runs by design; everything else must not.
PER_REQUEST = ("_pa_request_id",)


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def test_records_are_the_same_with_and_without_a_stream_map(sandbox):
    sb = sandbox(seed=11)
    config = tap_config(sb, page_size=200, run_id="run-out")
    plain = run_cli(config, streams=["payments", "events"])
    mapped = run_cli({**config, "stream_maps": {"payments": {"_probe": "'mapped'"},
                                                "events": {"_probe": "'mapped'"}}},
                     streams=["payments", "events"])
    assert plain.returncode == mapped.returncode == 0, plain.stderr[-2000:]
    for stream, id_field in (("payments", "id"), ("events", "event_id")):
        direct = plain.records(stream)
        via_map = mapped.records(stream)
        assert direct and len(direct) == len(via_map) == len(sb.truth(stream))
        for a, b in zip(direct, via_map, strict=True):
            assert "_probe" not in a
            assert b.pop("_probe") == "mapped"  # the map was applied, not bypassed
            assert isinstance(a["_pa_raw"], dict) and isinstance(b["_pa_raw"], dict)
            assert _canonical(a["_pa_raw"]) == _canonical(b["_pa_raw"])
            for rec in (a, b):
                assert rec["_pa_version"] == hashlib.sha256(
                    _canonical(rec["_pa_raw"])).hexdigest()
                assert rec["_pa_raw"][id_field] == rec[id_field]
            for field in PER_REQUEST:
                a.pop(field), b.pop(field)
            # Same keys in the same order, same values: the same bytes on the wire.
            assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    # The Singer envelope is the same too, and has no time_extracted: the page's reception
    # time is its ledger row's, and bytes per event matter (issue 16).
    envelopes = [{k: v for k, v in m.items() if k != "record"}
                 for run in (plain, mapped) for m in run.messages if m["type"] == "RECORD"]
    assert {json.dumps(e, sort_keys=True) for e in envelopes} == {
        json.dumps({"type": "RECORD", "stream": s}, sort_keys=True)
        for s in ("payments", "events")}


def test_a_deselected_property_stays_out_in_every_partition(sandbox, tmp_path):
    """Deselection forces the SDK's path, and is looked at again for each partition."""
    sb = sandbox(seed=3)
    now = parse_ts(sb.clock()["now"]).replace(hour=0, minute=0, second=0, microsecond=0)
    config = tap_config(sb, start_date=format_ts(now - dt.timedelta(days=30)),
                        end_date=format_ts(now - dt.timedelta(days=27)))
    catalog = select(["payments"])
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "payments")
    for md in entry["metadata"]:
        if md["breadcrumb"] == ["properties", "_pa_request_id"]:
            md["metadata"]["selected"] = False
    paths = {}
    for name, data in (("config", config), ("catalog", catalog)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    out = subprocess.run([TAP_BIN, "--config", str(paths["config"]), "--catalog",
                          str(paths["catalog"])], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    records = [m["record"] for m in map(json.loads, out.stdout.splitlines())
               if m["type"] == "RECORD" and m["stream"] == "payments"]
    assert len({r["updated_at"][:10] for r in records}) >= 2  # several (daily) partitions
    assert all("_pa_request_id" not in r and "currency" in r["_pa_raw"] for r in records)
