"""Where compat's evidence comes from: a provider's data export, the built-in sandbox, or the live provider."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from mvptest.compat.engine import Sample
from mvptest.errors import ConfigError, InputError
from mvptest.masking import public_url
from mvptest.spec.model import Interface

DEFAULT_LIVE_RATE = 5.0  # requests per second: a provider in production is not ours to load
DEFAULT_SAMPLES = 200
MAX_BODY = 16_000_000  # bytes of one response; a larger body is counted as unusable, not held in memory


class DataSample(Sample):
    """Every record of a data file, in any form ``validate`` reads (JSON, NDJSON, CSV, .xlsx)."""

    def __init__(self, path: Path, provider: Interface, *, encoding: str | None = None, sheet: str | None = None,
                 limit: int | None = None) -> None:
        super().__init__()
        from mvptest.spec.loader import display_path

        self.path = path
        self.provider = provider
        self.encoding = encoding
        self.sheet = sheet
        self.limit = limit
        self.label = f"data: {display_path(path)}"

    def __iter__(self) -> Iterator[Any]:
        from mvptest.validation.readers import Unparsable, open_source

        source = open_source(self.path, bundled=self.provider.response_schema, encoding=self.encoding, sheet=self.sheet)
        n = 0
        for line, record in source:
            by_line = line is not None and self.path.suffix.lower() in (".ndjson", ".jsonl", ".csv", ".xlsx")
            self.position = f"line {line}" if by_line else f"record {n + 1}"
            if isinstance(record, Unparsable):
                self.unusable["unparsable"] += 1
                continue
            if not isinstance(record, dict):
                self.unusable["not an object"] += 1
                continue
            yield record
            n += 1
            if self.limit is not None and n >= self.limit:
                return


class _HttpSample(Sample):
    """GET the provider interface N times with parameters from pools (or synthetic ones) and yield the bodies."""

    def __init__(self, provider: Interface, base_url: str, *, samples: int, seed: int, pools: dict[str, list[Any]],
                 rate: float | None, timeout_s: float, headers: dict[str, str] | None = None, tls: Any = None) -> None:
        super().__init__()
        from mvptest.run.requests import RequestFactory

        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.samples = samples
        self.rng = random.Random(seed)
        self.factory = RequestFactory(provider, pools, seed=seed)
        self.rate = rate
        self.timeout_s = timeout_s
        self.headers = headers or {}
        self.tls = tls  # mvptest.net.tls.TlsConfig or None: the CA bundle and client certificate for https
        self.answered = 0  # calls the provider answered (any status)

    def __iter__(self) -> Iterator[Any]:
        import requests

        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: traffic goes only where the user pointed it
        if self.base_url.startswith("https"):
            self._tls_preflight()
            session.mount("https://", _TlsAdapter(self.tls))
        interval = 1.0 / self.rate if self.rate else 0.0
        next_at = time.monotonic()
        refused = 0
        try:
            for _ in range(self.samples):
                if interval:
                    now = time.monotonic()
                    if now < next_at:
                        time.sleep(next_at - now)
                    next_at = max(now, next_at) + interval
                path, headers, body = self.factory.build(self.rng)
                self.requests += 1
                try:
                    resp = session.request(self.provider.method, self.base_url + path, headers={**self.headers, **headers},
                                           data=body, timeout=self.timeout_s, stream=True)
                except requests.ConnectionError as exc:
                    self._tls_failure(exc)
                    refused += 1
                    self.unusable["connection failed"] += 1
                    if refused >= 3 and self.requests == refused:
                        from mvptest.errors import TargetUnreachable

                        raise TargetUnreachable(f"{self.base_url} refuses connections ({exc.__class__.__name__})",
                                                hint="is the provider running, and is the URL right?") from None
                    continue
                except requests.Timeout:
                    self.unusable["timeout"] += 1
                    continue
                self.answered += 1
                if resp.status_code != self.provider.response_status:
                    self.unusable[f"status {resp.status_code}"] += 1
                    continue
                body = b""
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) > MAX_BODY:
                        break
                resp.close()
                if len(body) > MAX_BODY:
                    self.unusable[f"body over {MAX_BODY // 1_000_000} MB"] += 1
                    continue
                try:
                    record = orjson.loads(body)
                except orjson.JSONDecodeError:
                    self.unusable["not JSON"] += 1
                    continue
                if not isinstance(record, dict):
                    self.unusable["not an object"] += 1
                    continue
                self.position = f"request {self.requests}"
                yield record
        finally:
            session.close()


    def _tls_preflight(self) -> None:
        """One handshake before any request, as `run` does: a certificate or mutual-TLS failure is named exactly
        (once a request is on the wire, a server that refuses the client certificate may reset instead of saying so)."""
        import socket

        from mvptest.net import tls

        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        try:
            sock = socket.create_connection((host, parts.port or 443), timeout=self.timeout_s)
        except OSError:
            return  # refused, unknown host, no answer: the sampling says so as before
        sock.settimeout(self.timeout_s)
        tls.handshake(sock, host, self.tls, where=public_url(self.base_url))

    def _tls_failure(self, exc: BaseException) -> None:
        """A certificate or handshake failure is said as one (exit 3 while nothing succeeded), never as 'refuses'."""
        from mvptest.errors import TargetUnreachable
        from mvptest.net import tls

        problem = tls.describe(exc, urlsplit(self.base_url).hostname or "",
                               client_cert=self.tls is not None and self.tls.has_client_cert)
        if problem is None:
            return
        if self.answered == 0:
            raise TargetUnreachable(problem.message, where=public_url(self.base_url), hint=problem.hint) from None
        self.unusable["TLS failure"] += 1


def _TlsAdapter(config: Any) -> Any:
    """A requests adapter whose every HTTPS connection uses mvptest.net.tls's context (the CA bundle, the client cert)."""
    from requests.adapters import HTTPAdapter

    from mvptest.net.tls import client_context

    context = client_context(config)

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

        def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
            host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
            pool["ssl_context"] = context
            return host, pool

    return Adapter()


class LiveSample(_HttpSample):
    def __init__(self, provider: Interface, url: str, **kw: Any) -> None:
        super().__init__(provider, url, **kw)
        self.shown_url = public_url(url)

    @property
    def label(self) -> str:  # type: ignore[override]  # counts what was done, so computed when read
        rate = f" at most {self.rate:g}/s" if self.rate else ""
        return f"live: {self.shown_url} ({self.requests} requests{rate})"


class SandboxSample(_HttpSample):
    """The built-in sandbox of the provider's spec, started in this process on a free loopback port."""

    def __init__(self, provider: Interface, *, seed: int, **kw: Any) -> None:
        from mvptest.sandbox.app import SandboxApp
        from mvptest.sandbox.server import SandboxThread

        self.thread = SandboxThread(SandboxApp([provider], seed=seed))
        url = self.thread.start()
        super().__init__(provider, url, seed=seed, **kw)
        self.seed = seed

    @property
    def label(self) -> str:  # type: ignore[override]  # counts what was done, so computed when read
        return f"sandbox (seed {self.seed}, {self.requests} requests)"

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from super().__iter__()
        finally:
            self.thread.stop()


PARAMS_MAX_VALUES = 1_000_000  # a sample of real values, not the whole export


def load_params(path: Path) -> dict[str, list[Any]]:
    """Parameter values for live sampling, read as every data input is (validation.readers, as run/pools.py reads
    a scenario's pools): CSV with a header row (UTF-8, UTF-8 with BOM or GB18030, detected), .xlsx or NDJSON, one
    column or key per parameter; or JSON, a list of objects or one object of lists. Empty values are left out."""
    from mvptest.spec.loader import display_path
    from mvptest.validation.readers import open_source

    where = display_path(path)
    pools: dict[str, list[Any]] = {}
    source = open_source(path, bundled=None)
    try:
        count = 0
        for line, row in source:
            for name, value in _param_values(row, where, line):
                pools.setdefault(str(name), []).append(value)
                count += 1
            if count > PARAMS_MAX_VALUES:
                raise InputError(f"holds more than {PARAMS_MAX_VALUES:,} parameter values", where=where,
                                 hint="live sampling needs a sample of real values, not the whole export")
    finally:
        source.close()
    if not pools:
        raise InputError("holds no parameter values", where=where, hint="a header row naming the parameters, then rows of values")
    return pools


def _param_values(row: Any, where: str, line: int | None) -> list[tuple[str, Any]]:
    """(parameter, value) of one row or record; an object of lists gives every value of each of its lists."""
    from mvptest.validation.readers import Unparsable

    if isinstance(row, Unparsable):
        raise InputError(f"is not a row of parameter values: {row.message}", where=f"{where}:{line}" if line else where,
                         hint="a params file is CSV with a header row, JSON, NDJSON or .xlsx")
    if not isinstance(row, dict):
        raise InputError("expected a list of objects or an object of lists", where=where)
    if row and all(isinstance(v, list) for v in row.values()):
        pairs = [(k, v) for k, values in row.items() for v in values]
    else:
        pairs = list(row.items())
    return [(k, v) for k, v in pairs if v not in (None, "")]


def check_live_url(url: str, allowed: tuple[str, ...]) -> None:
    from urllib.parse import urlsplit

    from mvptest.net import host_allowed

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--live {url!r} is not an http(s) URL", hint="e.g. --live https://provider.example.gov.cn")
    if not host_allowed(url, list(allowed)):
        raise ConfigError(f"--live {parts.hostname} is not a loopback address",
                         hint=f"requests go to another machine only when you say so: add --allow-host {parts.hostname}")
