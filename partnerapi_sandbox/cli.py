"""`partnerapi-sandbox serve`: run the simulated Partner API for humans, demos and Meltano."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from partnerapi_sandbox.faults import KINDS, PRESETS
from partnerapi_sandbox.schema_drift import MODES, NEW_FIELD_KINDS
from partnerapi_sandbox.settlements import FAULTS, FORMATS, PHASES
from partnerapi_sandbox.world import SCALES

EPILOG = """\
fault kinds (each has its own rate; --fault KIND=RATE overrides the preset):
  timeout           hang --hang-seconds, then close the connection without answering
  slow              answer normally, but only after --hang-seconds
  http_500/502/503  transient server errors (502 comes from a 'proxy' with an HTML body)
  http_504          the page is computed, then 504 is returned; repeating succeeds
  partial_page      200 with fewer records in `data` than `count` says
  truncated_body    full Content-Length announced, connection closed mid-JSON
  duplicate_page    a cursor page starts with records an earlier page returned
  moved_record      a record in the window being read is updated while paging
  rate_limit_burst  429s for up to --max-retry-after-seconds (a vendor incident)
  token_revoked     the bearer token is revoked early: 401 invalid_token
A request just hit by a fault succeeds when the same client repeats it.

default clients: demo-client/demo-secret (all resources), limited-client/limited-secret
(customers only: everything else is 403). --client replaces them.

admin API (loopback, no auth): GET /_sandbox/clock | counters | config | truth/<resource> |
deleted/<resource> | pending/<resource>; POST /_sandbox/advance {"hours": h} | faults
{"preset": p} or {"rates": {...}} | schema {"mode": m} | fields {"resource": r, "name": n,
"kind": k} | config {...} | touch {"resource": r, "lag_seconds": s} | revoke_tokens.
See docs/sandbox.md.

webhooks: --webhook-url URL pushes a signed notification for every change (secrets from
$PARTNERAPI_SANDBOX_WEBHOOK_SECRETS, comma-separated).
"""


def _fault_override(text: str) -> tuple[str, float]:
    kind, _, rate = text.partition("=")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}")
    return kind, float(rate)


def _new_field(text: str) -> tuple[str, str, str]:
    path, sep, kind = text.partition(":")
    resource, dot, name = path.partition(".")
    if not sep or not dot or kind not in NEW_FIELD_KINDS:
        raise argparse.ArgumentTypeError(
            f"use RESOURCE.FIELD:KIND with KIND one of {', '.join(NEW_FIELD_KINDS)}")
    return resource, name, kind


def _client(text: str) -> tuple[str, str]:
    cid, sep, secret = text.partition(":")
    if not sep or not cid or not secret:
        raise argparse.ArgumentTypeError("use CLIENT_ID:SECRET")
    return cid, secret


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnerapi-sandbox",
                                     description="A local simulator of the Partner API v1, "
                                     "faults included.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API until killed",
                           description="Serve the simulated Partner API on loopback. Prints "
                           "SANDBOX_URL=http://127.0.0.1:PORT on a line of its own once ready.",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    serve.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one")
    serve.add_argument("--seed", type=int, default=7, help="data seed: same seed, same data")
    serve.add_argument("--scale", choices=sorted(SCALES), default="small",
                       help="data volume: small (~8k records, <1 s), medium (~100k), "
                       "large (>=1M events, tens of seconds to build)")
    serve.add_argument("--faults", choices=sorted(PRESETS), default="off",
                       help="fault preset (per-kind rates)")
    serve.add_argument("--fault", type=_fault_override, action="append", default=[],
                       metavar="KIND=RATE", help="override one fault rate (0..1); repeatable")
    serve.add_argument("--environment", choices=["sandbox", "production"], default="sandbox",
                       help="which vendor environment's data to serve; a share of ids exist "
                       "in both with different contents")
    serve.add_argument("--rate-limit-per-minute", type=int, default=1000,
                       help="requests per minute per client id, all endpoints")
    serve.add_argument("--rate-limit-window-seconds", type=float, default=60.0,
                       help="length of the rate-limit window (the vendor: 60); pacing tests "
                       "and benches shrink it")
    serve.add_argument("--token-lifetime-seconds", type=int, default=900,
                       help="access token lifetime (expires_in)")
    serve.add_argument("--start-time", default=None,
                       help="simulated clock start (RFC 3339); default: now, to the second")
    serve.add_argument("--schema-mode", choices=MODES, default="none",
                       help="additive: new fields appear; rename: invoices.amount_due -> "
                       "amount_due_minor")
    serve.add_argument("--add-field", type=_new_field, action="append", default=[],
                       metavar="RESOURCE.FIELD:KIND", help="serve one more top-level field "
                       "on every record of RESOURCE (any mode; later: POST /_sandbox/fields); "
                       "repeatable")
    serve.add_argument("--hang-seconds", type=float, default=35.0,
                       help="how long timeout/slow faults stall (the vendor: >30 s)")
    serve.add_argument("--max-retry-after-seconds", type=float, default=60.0,
                       help="cap of Retry-After during 429 bursts (the vendor: up to 60 s)")
    serve.add_argument("--activity", type=float, default=1.0,
                       help="multiplier of create/update/delete rates when the clock is "
                       "advanced; 0 freezes the data (late versions still surface)")
    serve.add_argument("--client", type=_client, action="append", default=[],
                       metavar="ID:SECRET", help="accepted client credentials; repeatable")
    serve.add_argument("--forbid", action="append", default=[], metavar="RESOURCE",
                       help="answer this resource with 403 forbidden for every client; "
                       "repeatable")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    serve.add_argument("--webhook-url", default=None,
                       help="push a signed notification for every change to this receiver "
                       "URL (secrets from $PARTNERAPI_SANDBOX_WEBHOOK_SECRETS, comma-separated)")
    serve.add_argument("--webhook-duplicates", type=float, default=0.1,
                       help="share of notifications the vendor sends twice (default 0.1)")
    drops = sub.add_parser(
        "settlements", help="write settlement drops of a running sandbox",
        description="Ask a running sandbox (its admin API) to write its settlement files "
        "(one drop per daily payout, manifests last) to a folder or s3://bucket/prefix, and "
        "print the scenario: payouts, fault payouts, expected reconciliation counts.")
    drops.add_argument("--url", default="http://127.0.0.1:8765", help="the sandbox's URL")
    drops.add_argument("--location", required=True,
                       help="folder or s3://bucket/prefix (S3 credentials and endpoint from "
                       "the AWS_* variables)")
    drops.add_argument("--format", choices=FORMATS, default="csv", help="file format")
    drops.add_argument("--phase", choices=PHASES, default="all",
                       help="initial: on-time drops, faults half-done; final: late drops, "
                       "re-delivery, corrections, manifests of uploads in progress, repairs")
    drops.add_argument("--days", type=int, default=10, help="days of payouts")
    drops.add_argument("--faults", default=",".join(FAULTS),
                       help=f"comma-separated subset of {','.join(FAULTS)} ('' for none)")
    drops.add_argument("--truth", action="store_true",
                       help="print the lines a correct reader ends with instead")
    return parser


def _settlements(args: argparse.Namespace) -> int:
    import urllib.request

    options = {"days": args.days, "faults": [f for f in args.faults.split(",") if f]}
    if args.truth:
        body, method, path = options, "GET", "/_sandbox/settlements/truth"
    else:
        body = {**options, "location": args.location, "format": args.format,
                "phase": args.phase}
        method, path = "POST", "/_sandbox/settlements"
    request = urllib.request.Request(args.url.rstrip("/") + path, method=method,
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        print(json.dumps(json.loads(response.read()), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "settlements":
        return _settlements(args)
    from partnerapi_sandbox.faults import resolve_rates
    from partnerapi_sandbox.sandbox import Sandbox

    faults: str | dict[str, float] = args.faults
    if args.fault:
        faults = resolve_rates(args.faults) | dict(args.fault)
    sb = Sandbox(seed=args.seed, scale=args.scale, faults=faults, environment=args.environment,
                 rate_limit_per_minute=args.rate_limit_per_minute,
                 rate_limit_window_seconds=args.rate_limit_window_seconds,
                 token_lifetime_seconds=args.token_lifetime_seconds,
                 start_time=args.start_time, schema_mode=args.schema_mode,
                 clients=dict(args.client) or None, hang_seconds=args.hang_seconds,
                 max_retry_after_seconds=args.max_retry_after_seconds,
                 activity=args.activity, host=args.host,
                 port=args.port, verbose=args.verbose, forbidden=args.forbid)
    for resource, name, kind in args.add_field:
        try:
            sb.add_field(resource, name, kind)
        except ValueError as exc:
            print(f"--add-field {resource}.{name}:{kind}: {exc}", file=sys.stderr)
            return 2
    pusher = None
    if args.webhook_url:
        from partnerapi_sandbox.webhook_push import SECRETS_ENV, Pusher

        secrets = [x for x in os.environ.get(SECRETS_ENV, "").split(",") if x]
        if not secrets:
            print(f"--webhook-url needs the signing secret(s) in ${SECRETS_ENV}",
                  file=sys.stderr)
            return 2
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        pusher = Pusher(sb, args.webhook_url, secrets, duplicates=args.webhook_duplicates)
    sb.start()
    if pusher is not None:
        pusher.start()
    print(f"SANDBOX_URL={sb.url}", flush=True)
    print(json.dumps(sb.config()), file=sys.stderr, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    if pusher is not None:
        pusher.stop()
    sb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
