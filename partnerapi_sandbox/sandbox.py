"""`Sandbox`: the Python API tests use, and the state the HTTP layer serves."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from partnerapi_sandbox.api import Api, ApiSettings
from partnerapi_sandbox.auth import DEFAULT_CLIENTS, Auth, Client
from partnerapi_sandbox.clock import SimClock
from partnerapi_sandbox.counters import Counters
from partnerapi_sandbox.cursors import CursorCodec
from partnerapi_sandbox.faults import KINDS, FaultInjector
from partnerapi_sandbox.listing import Listing
from partnerapi_sandbox.ratelimit import RateLimiter
from partnerapi_sandbox.schema_drift import Drift
from partnerapi_sandbox.store import DELETABLE, RESOURCES, Version, dumps, loads
from partnerapi_sandbox.timeutil import US, coerce_start, fmt_us, parse_ts
from partnerapi_sandbox.world import World

ChangeListener = Callable[[str, str, dict[str, Any], int], None]


class Sandbox:
    """A local Partner API. See docs/sandbox.md for every knob.

    It owns the state and the Python API; its parts take the pieces they use: the clock
    (``SimClock``), the counters, the drift in force (``Drift``), the API's settings
    (``ApiSettings``), and the listing's view of the store (``Listing``).
    """

    def __init__(self, seed: int = 7, scale: str = "small", faults: str | dict = "off",
                 environment: str = "sandbox", rate_limit_per_minute: int = 1000,
                 token_lifetime_seconds: int = 900, start_time: object = None,
                 schema_mode: str = "none",
                 clients: Iterable[Client] | dict[str, str] | None = None,
                 hang_seconds: float = 35.0, max_retry_after_seconds: float = 60.0,
                 activity: float = 1.0, host: str = "127.0.0.1", port: int = 0,
                 verbose: bool = False, rate_limit_window_seconds: float = 60.0,
                 forbidden: Iterable[str] = ()) -> None:
        if environment not in ("production", "sandbox"):
            raise ValueError("environment must be 'production' or 'sandbox'")
        self.seed, self.scale, self.environment = seed, scale, environment
        self.host, self.port, self.verbose = host, port, verbose
        self.settings = ApiSettings(int(token_lifetime_seconds), float(hang_seconds),
                                    float(max_retry_after_seconds))
        self.activity = float(activity)
        self.lock = threading.RLock()
        self.clocks = SimClock(coerce_start(start_time))
        self.world = World(seed, environment, scale, self.clocks.start_us)
        self.store = self.world.build()
        self.store.release(self.now_us)
        self.drift = Drift(schema_mode)
        self.faults = FaultInjector(faults, seed)
        self.limiter = RateLimiter(int(rate_limit_per_minute), rate_limit_window_seconds)
        self.auth = Auth()
        # Resources no client may read (documented 403), on top of each client's own list.
        self.forbidden: set[str] = set()
        self.forbid(*forbidden)
        for c in DEFAULT_CLIENTS if clients is None else _clients(clients):
            self.auth.add_client(c)
        self.cursors = CursorCodec(hashlib.sha256(f"cursor:{seed}:{environment}".encode())
                                   .digest())
        self.stats = Counters()
        self.api = Api(auth=self.auth, limiter=self.limiter, faults=self.faults,
                       clock=self.clocks, counters=self.stats, settings=self.settings,
                       forbidden=self.forbidden,
                       listing=Listing(self.store, self.lock, self.cursors, self.faults,
                                       self.drift, self.clocks, self.stats,
                                       self.move_record))
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Sandbox:
        from partnerapi_sandbox.server import SandboxServer

        self._server = SandboxServer(self, self.host, self.port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name=f"partnerapi-sandbox:{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- clocks ------------------------------------------------------------------------------
    @property
    def now_us(self) -> int:
        """The simulated clock, epoch microseconds."""
        return self.clocks.now_us

    def op_now(self) -> float:
        """Seconds on the operational clock (token expiry, rate limits): wall time plus every
        advance, so that moving the simulated clock also ages tokens and windows."""
        return self.clocks.op_now()

    def advance(self, hours: float = 0, minutes: float = 0, days: float = 0,
                seconds: float = 0) -> dict[str, Any]:
        delta = round((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * US)
        if delta < 0:
            raise ValueError("the clock only moves forward")
        from partnerapi_sandbox.evolve import evolve

        with self.lock:
            evolve(self.world, self.now_us, self.now_us + delta, self.activity)
            self.clocks.advance(delta)
            self.world.now_us = self.now_us
            self.store.release(self.now_us)
        return self.clock()

    def clock(self) -> dict[str, Any]:
        return {"now": fmt_us(self.now_us), "start": fmt_us(self.clocks.start_us),
                "advanced_seconds": (self.now_us - self.clocks.start_us) / US}

    # -- ground truth ------------------------------------------------------------------------
    def truth(self, resource: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            current = dict(self.store.tables[resource].current)
        return {i: self.drift.apply(resource, loads(v.body)) for i, v in current.items()}

    def settlements(self, **options: Any) -> Any:
        """The settlement drops (partnerapi_sandbox.settlements) for the payments served now.
        Built once per set of options, so its phases can be written between tap runs."""
        from partnerapi_sandbox.settlements import SettlementExports

        key = json.dumps(options, sort_keys=True, default=str)
        cached = getattr(self, "_settlements", None)
        if cached is None or cached[0] != key:
            with self.lock:
                payments = list(self.truth("payments").values())
                as_of = datetime.fromtimestamp(self.now_us / US, UTC)
            exports = SettlementExports(payments, environment=self.environment, as_of=as_of,
                                        seed=self.seed, **options)
            cached = self._settlements = (key, exports)
        return cached[1]

    def deleted_ids(self, resource: str) -> set[str]:
        with self.lock:
            return set(self.store.tables[resource].deleted)

    def pending(self, resource: str) -> dict[str, list[dict[str, str]]]:
        """Versions written but not yet visible: {id: [{updated_at, visible_at}, ...]}."""
        out: dict[str, list[dict[str, str]]] = {}
        with self.lock:
            for v in self.store.tables[resource].pending():
                out.setdefault(v.id, []).append({"updated_at": v.updated_at,
                                                 "visible_at": fmt_us(v.visible_at),
                                                 "deleted": v.deleted})
        return out

    def counters(self) -> dict[str, Any]:
        out: dict[str, Any] = self.stats.snapshot()
        out["faults"] = {k: self.faults.counts.get(k, 0) for k in KINDS}
        return out

    # -- knobs -------------------------------------------------------------------------------
    def set_faults(self, preset_or_rates: str | dict[str, float]) -> None:
        self.faults.set(preset_or_rates)

    def set_schema_mode(self, mode: str) -> None:
        self.drift.set_mode(mode)

    @property
    def schema_mode(self) -> str:
        return self.drift.mode

    @property
    def extra_fields(self) -> dict[str, dict[str, str]]:
        return self.drift.extra_fields

    def add_field(self, resource: str, name: str, kind: str) -> None:
        """From now on every record of ``resource`` is served with one more top-level field
        ``name`` of ``kind`` (values: ``schema_drift.new_field_value``; one in five null), in any
        schema mode, and the truth shows it: a new vendor field appearing without notice."""
        with self.lock:
            self.drift.add_field(resource, name, kind)

    def served(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` (a stored version, modified in place) as the API serves it now."""
        return self.drift.served(resource, record)

    def serves_documented_shape(self, resource: str) -> bool:
        """True when records are served exactly as stored (no drift applies)."""
        return self.drift.documented_shape(resource)

    @property
    def hang_seconds(self) -> float:
        return self.settings.hang_seconds

    @property
    def max_retry_after_seconds(self) -> float:
        return self.settings.max_retry_after_seconds

    @property
    def token_lifetime_seconds(self) -> int:
        return self.settings.token_lifetime_seconds

    def configure(self, token_lifetime_seconds: int | None = None,
                  rate_limit_per_minute: int | None = None, hang_seconds: float | None = None,
                  max_retry_after_seconds: float | None = None,
                  activity: float | None = None) -> None:
        if token_lifetime_seconds is not None:
            self.settings.token_lifetime_seconds = int(token_lifetime_seconds)
        if rate_limit_per_minute is not None:
            self.limiter.limit = int(rate_limit_per_minute)
        if hang_seconds is not None:
            self.settings.hang_seconds = float(hang_seconds)
        if max_retry_after_seconds is not None:
            self.settings.max_retry_after_seconds = float(max_retry_after_seconds)
        if activity is not None:
            self.activity = float(activity)

    def config(self) -> dict[str, Any]:
        return {"seed": self.seed, "scale": self.scale, "environment": self.environment,
                "schema_mode": self.schema_mode,
                "extra_fields": {r: dict(f) for r, f in self.extra_fields.items()},
                "fault_rates": dict(self.faults.rates),
                "rate_limit_per_minute": self.limiter.limit,
                "token_lifetime_seconds": self.settings.token_lifetime_seconds,
                "hang_seconds": self.settings.hang_seconds,
                "max_retry_after_seconds": self.settings.max_retry_after_seconds,
                "activity": self.activity, "forbidden": sorted(self.forbidden),
                "clients": sorted(self.auth.clients)}

    def forbid(self, *resources: str, allow: bool = False) -> set[str]:
        """Answer listings and lookups of ``resources`` with ``403 forbidden`` (a grant the
        vendor withdrew); ``allow=True`` lifts it again."""
        unknown = set(resources) - set(RESOURCES)
        if unknown:
            raise ValueError(f"unknown resource(s): {', '.join(sorted(unknown))}")
        # In place: the API holds this very set.
        if allow:
            self.forbidden.difference_update(resources)
        else:
            self.forbidden.update(resources)
        return self.forbidden

    def corrupt(self, resource: str, record_id: str | None = None,
                **fields: Any) -> dict[str, str]:
        """Publish a new version of one record whose body has ``fields`` overwritten with
        values that break the contract (wrong type, null, bad timestamp), visible at once:
        tests of the tap's type checks. The listing order still uses the version's real
        ``updated_at``."""
        with self.lock:
            table = self.store.tables[resource]
            if record_id is None:
                record_id = sorted(table.latest)[0]
            prev = table.latest.get(record_id)
            if prev is None:
                raise KeyError(f"no live {resource} record {record_id}")
            stamp = max(self.now_us, parse_ts(prev.updated_at) + 1)
            record = {**loads(prev.body), "updated_at": fmt_us(stamp)}
            v = Version(record_id, record["updated_at"], stamp, dumps({**record, **fields}))
            table.write(v)
            self.store.release(self.now_us)
        return {"id": v.id, "updated_at": v.updated_at}

    def revoke_tokens(self) -> int:
        return self.auth.revoke_all()

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(resource, kind, record, at_us)` for every change the simulation
        writes (kind: created | updated | deleted) — the hook a webhook sender plugs into."""
        self.world.listeners.append(listener)

    def touch(self, resource: str, record_id: str | None = None,
              lag_seconds: float = 0.0) -> dict[str, str]:
        """Write a new version of one record now, visible after `lag_seconds` (tests use this
        for a deterministic late record)."""
        with self.lock:
            table = self.store.tables[resource]
            if record_id is None:
                record_id = self.world.rng.choice(list(table.latest))
            v = self._restamp(resource, record_id, int(lag_seconds * US), self.now_us)
            self.store.release(self.now_us)
        return {"id": v.id, "updated_at": v.updated_at, "visible_at": fmt_us(v.visible_at)}

    def delete(self, resource: str, record_id: str | None = None,
               lag_seconds: float = 0.0) -> str:
        """Hard-delete one record now, gone from listings after `lag_seconds` (tests: a
        deterministic delete). Only customers, plans and invoice lines are ever deleted by
        the vendor; with no id, an unreferenced one is picked, so truth never holds a
        dangling reference."""
        if resource not in DELETABLE:
            raise ValueError(f"the vendor never deletes {resource}")
        with self.lock:
            table = self.store.tables[resource]
            if record_id is None:
                referenced = {"customers": self.world.referenced_customers,
                              "plans": self.world.referenced_plans}.get(resource, set())
                candidates = sorted(set(table.latest) - referenced)
                if not candidates:
                    raise KeyError(f"no unreferenced {resource} record to delete")
                record_id = self.world.rng.choice(candidates)
            elif record_id not in table.latest:
                raise KeyError(f"no live {resource} record {record_id}")
            self.world.delete(resource, record_id, self.now_us, lag=int(lag_seconds * US))
            self.store.release(self.now_us)
        return record_id

    # -- used by the HTTP layer --------------------------------------------------------------
    def _restamp(self, resource: str, record_id: str, lag_us: int, at: int) -> Version:
        from partnerapi_sandbox.evolve import mutate

        record = self.world.record(resource, record_id)
        if record is None:
            raise KeyError(f"no live {resource} record {record_id}")
        mutate(self.world, resource, record, at)
        return self.world.update(resource, record, at, lag=lag_us)

    def move_record(self, resource: str, since: str | None, before: str | None,
                    after: tuple[str, str] | None) -> bool:
        """Fault `moved_record`: update a record inside the window being read, right now —
        mostly one the reader already has, so it shows up twice."""
        table = self.store.tables[resource]
        lo, hi = table.window(since, before, None)
        if after is not None and self.faults.uniform(0, 1) < 0.7:
            hi = min(hi, table.window(since, before, after)[0])
        if hi <= lo:
            return False
        record_id = table.keys[self.faults.randint(lo, hi - 1)][1]
        if record_id not in table.latest:
            return False
        # Stamped after every visible record: on a frozen clock "now" could otherwise fall
        # behind a reader's cursor and the record would vanish from an open-ended read.
        at = max(self.now_us, parse_ts(table.keys[-1][0]) + 1)
        self._restamp(resource, record_id, self.now_us - at, at)  # visible at once
        self.store.release(self.now_us)
        return True


def _clients(clients: Iterable[Client] | dict[str, str]) -> list[Client]:
    if isinstance(clients, dict):
        return [Client(cid, secret) for cid, secret in clients.items()]
    return list(clients)


__all__ = ["RESOURCES", "Sandbox"]
