"""Measure how fast the sandbox serves pages: `python -m partnerapi_sandbox.throughput`.

The server runs in its own process pinned to one core (faults off); this client reads raw bytes over
one keep-alive connection and does not parse JSON, so the figure is the sandbox's, not a
client's. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit

_TAIL = re.compile(rb'"count":(\d+),"has_more":(true|false),"next_cursor":(null|"[^"]*")}$')


def measure(url: str, resource: str, page_size: int, max_records: int) -> dict[str, float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    conn.request("POST", "/oauth/token", body="grant_type=client_credentials",
                 headers={"Authorization": f"Basic {basic}",
                          "Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(conn.getresponse().read())["access_token"]
    query: dict[str, object] = {"page_size": page_size}
    records = pages = size = 0
    started = time.perf_counter()
    while records < max_records:
        conn.request("GET", f"/v1/{resource}?{urlencode(query)}",
                     headers={"Authorization": f"Bearer {token}"})
        body = conn.getresponse().read()
        match = _TAIL.search(body[-600:])
        if match is None:
            raise RuntimeError(f"unexpected page: {body[:200]!r}")
        records += int(match.group(1))
        pages += 1
        size += len(body)
        if match.group(2) == b"false":
            break
        query["cursor"] = json.loads(match.group(3))
    elapsed = time.perf_counter() - started
    return {"records": records, "pages": pages, "seconds": round(elapsed, 3),
            "records_per_second": round(records / elapsed), "mb_per_second":
            round(size / elapsed / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--resource", default="events")
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--max-records", type=int, default=1_000_000)
    parser.add_argument("--url", help="measure a running sandbox instead of starting one")
    parser.add_argument("--cpu", type=int, default=0, help="pin the server process to this core")
    args = parser.parse_args(argv)
    proc = None
    url = args.url
    build = 0.0
    if url is None:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "partnerapi_sandbox.cli", "serve", "--port",
                                 "0", "--scale", args.scale, "--faults", "off",
                                 "--rate-limit-per-minute", "1000000"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                preexec_fn=lambda: os.sched_setaffinity(0, {args.cpu}))
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().split("=", 1)[1]
        build = time.perf_counter() - started
    try:
        result = measure(url, args.resource, args.page_size, args.max_records)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({"scale": args.scale, "resource": args.resource,
                      "page_size": args.page_size, "startup_seconds": round(build, 1),
                      **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
