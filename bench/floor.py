"""The bare client floor: the same pages the tap reads, fetched with ``requests`` and
JSON-decoded in a plain loop - no Singer, no SDK, no checks, no output.

    python -m bench.floor --url URL --resource events --out floor.json [--decoder msgspec]

Writes {records, pages, api_bytes, seconds, boundaries}; ``boundaries`` is the cumulative
record count and last ``updated_at`` of every page, which the other benches use to pick
start dates giving a known number of records.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import requests


def fetch_all(url: str, resource: str, page_size: int, decode: Callable[[bytes], Any],
              client: tuple[str, str], since: str | None = None) -> dict[str, Any]:
    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy
    token = session.post(f"{url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client[0],
        "client_secret": client[1]}, timeout=60).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    params: dict[str, Any] = {"page_size": page_size}
    if since:
        params["updated_since"] = since
    records = pages = api_bytes = 0
    boundaries: list[tuple[int, str]] = []
    started = time.perf_counter()
    while True:
        response = session.get(f"{url}/v1/{resource}", params=params, timeout=60)
        response.raise_for_status()
        body = decode(response.content)
        data = body["data"]
        records += len(data)
        pages += 1
        api_bytes += len(response.content)
        if data:
            boundaries.append((records, data[-1]["updated_at"]))
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    seconds = time.perf_counter() - started
    return {"resource": resource, "records": records, "pages": pages, "api_bytes": api_bytes,
            "seconds": seconds, "boundaries": boundaries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--resource", required=True)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--since", default=None)
    parser.add_argument("--decoder", choices=["json", "msgspec"], default="json")
    parser.add_argument("--out", required=True)
    parser.add_argument("--client", required=True, help="CLIENT_ID:SECRET")
    args = parser.parse_args(argv)
    if args.decoder == "msgspec":
        import msgspec

        decode: Callable[[bytes], Any] = msgspec.json.Decoder().decode
    else:
        decode = json.loads
    client_id, _, secret = args.client.partition(":")
    result = fetch_all(args.url, args.resource, args.page_size, decode, (client_id, secret),
                       args.since)
    result["decoder"] = args.decoder
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
