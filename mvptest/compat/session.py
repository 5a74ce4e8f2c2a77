"""The ``compat`` session: choose the pairs, match the adapters, take the evidence, check every pair, report events.

``check_compat(config, handlers)`` is the one core call of ``mvptest compat``. It never prints: the console, the
JSON, Markdown and CSV reports and the suggested adapter are handlers (mvptest/report/compat.py). Events, in order:
``Note`` (a warning about the pairing), per pair ``Progress`` (records checked, while sampling) and
``Item("pair", PairResult)``; then ``finish(CompatReport)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.compat.adapter import Adapter, load_adapter
from mvptest.compat.engine import MAX_EXAMPLES, PairResult, Sample, check_pair
from mvptest.compat.sources import DEFAULT_LIVE_RATE
from mvptest.errors import ConfigError, ExitCode, InputError, Location, SpecError
from mvptest.events import Handler, Item, Note, Progress, Session, run_session
from mvptest.spec.model import Interface, Requirement, SpecSet
from mvptest.spec.select import select_interfaces

PROGRESS_EVERY = 10  # records between two Progress events while sampling
MATRIX_JSON = Path("results") / "compat-matrix.json"  # where --all writes its JSON when no --json-out is given

Pair = tuple[Interface, Requirement]


@dataclass(frozen=True)
class LiveSource:
    """Evidence from the provider itself at a base URL (GET, rate-limited)."""

    url: str
    rate: float = DEFAULT_LIVE_RATE
    params: Path | None = None  # parameter values: CSV with a header row, JSON, NDJSON or .xlsx
    headers: tuple[str, ...] = ()  # NAME:VALUE, ${ENV} substituted
    allow_hosts: tuple[str, ...] = ()
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None


@dataclass(frozen=True)
class CompatConfig:
    """What ``mvptest compat`` was asked: two specs or a folder, the evidence, the adapters, the limits."""

    specs: tuple[Path, ...] = ()  # PROVIDER_SPEC CONSUMER_SPEC
    all_dir: Path | None = None  # every provider/consumer pair under this folder (the matrix)
    interface: str | None = None
    sandbox: bool = False
    live: LiveSource | None = None
    data: Path | None = None
    samples: int | None = None
    timeout_s: float = 10.0
    seed: int = 0
    adapters: tuple[Path, ...] = ()
    encoding: str | None = None
    sheet: str | None = None
    max_examples: int = MAX_EXAMPLES
    spec_root: Path | None = None
    mask: bool = True


@dataclass
class CompatReport:
    """Every pair checked, and the verdict over them."""

    pairs: list[PairResult] = field(default_factory=list)
    masked: bool = True
    matrix: bool = False  # from --all: a department matrix, one adapter file per pair

    @property
    def compatible(self) -> bool:
        return all(p.compatible for p in self.pairs)

    @property
    def interrupted(self) -> bool:
        return any(p.evidence is not None and p.evidence.interrupted for p in self.pairs)

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.OK if self.compatible else ExitCode.CHECK_FAILED

    @property
    def standardization_rate(self) -> float:
        """Over every pair: the consumer-required fields served compatibly, out of all consumer-required fields."""
        total = sum(len(p.required_fields) for p in self.pairs)
        good = sum(len(p.compatible_fields) for p in self.pairs)
        return good / total if total else 1.0

    @property
    def data_standardization_rate(self) -> float | None:
        """The same over the pairs checked with evidence: required fields whose every sampled value the consumer
        accepts (the provider's own data defects left out); None when no pair has evidence."""
        judged = [p for p in self.pairs if p.data_standard_fields is not None]
        if not judged:
            return None
        total = sum(len(p.required_fields) for p in judged)
        return sum(len(p.data_standard_fields or []) for p in judged) / total if total else 1.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": 1,
            "compatible": self.compatible,
            "standardization_rate": round(self.standardization_rate, 4),
            "masked": self.masked,
            "pairs": [p.to_dict() for p in self.pairs],
        }
        if self.data_standardization_rate is not None:
            out["standardization_rate_data"] = round(self.data_standardization_rate, 4)
        if self.interrupted:
            out["interrupted"] = True
        return out


def check_compat(config: CompatConfig, handlers: Handler) -> CompatReport:
    """Check every pair the config names; Ctrl-C while sampling ends with the pairs so far (marked interrupted)."""
    return run_session(handlers, Session("compat"), lambda: _check(config, handlers))


def _check(config: CompatConfig, handlers: Handler) -> CompatReport:
    _two_specs_or_a_folder(config)
    tls = _live_checks(config.live) if config.live is not None else None
    pairs = select_pairs(config, handlers)
    adapters = [load_adapter(p) for p in config.adapters]
    results: list[PairResult] = []
    for provider, consumer in pairs:
        adapter = adapter_for(adapters, provider.key, consumer.key, single=config.all_dir is None)
        sample = _sample(provider, config, tls)
        on_record = None
        if sample is not None:
            on_record = _progress(handlers, f"{consumer.key} ← {provider.key}")
        result = check_pair(provider, consumer, adapter=adapter, sample=sample, mask=config.mask,
                            max_examples=config.max_examples, on_record=on_record)
        results.append(result)
        handlers.handle(Item("pair", result))
        if result.evidence is not None and result.evidence.interrupted:
            break
    return CompatReport(results, masked=config.mask, matrix=config.all_dir is not None)


def _progress(handlers: Handler, label: str) -> Callable[[int], None]:
    """A Progress event now (sampling starts) and every PROGRESS_EVERY records checked."""
    handlers.handle(Progress(label, 0, unit="records"))

    def on_record(n: int) -> None:
        if n % PROGRESS_EVERY == 0:
            handlers.handle(Progress(label, n, unit="records"))

    return on_record


# --------------------------------------------------------------------------- which pairs


def select_pairs(config: CompatConfig, handlers: Handler) -> list[Pair]:
    """The (provider interface, consumer requirement) pairs to check: every one under --all, else the two files'."""
    _two_specs_or_a_folder(config)
    if config.all_dir is not None:
        return _matrix_pairs(config.all_dir, config.spec_root)
    return [_one_pair(config.specs[0], config.specs[1], config.interface, config.spec_root, handlers)]


def _two_specs_or_a_folder(config: CompatConfig) -> None:
    if config.all_dir is None and len(config.specs) != 2:
        raise ConfigError("needs PROVIDER_SPEC and CONSUMER_SPEC (or --all DIR)",
                          hint="mvptest compat specs/market-supervision/enterprise-registration.yaml "
                               "specs/tax/enterprise-registration.yaml")


def _matrix_pairs(all_dir: Path, spec_root: Path | None) -> list[Pair]:
    from mvptest.spec.check import load_specs
    from mvptest.spec.loader import display_path

    if not all_dir.is_dir():
        raise InputError("is not a folder", where=str(all_dir), hint="mvptest compat --all specs/")
    loaded = load_specs([all_dir], spec_root=spec_root)
    if loaded.errors:
        raise SpecError(loaded.errors)
    pairs = []
    for req in loaded.requirements:
        itf = loaded.interface(req.consumes)
        if itf is not None:
            pairs.append((itf, req))
    if not pairs:
        raise InputError("holds no requirement that consumes an interface found there", where=display_path(all_dir),
                         hint="a requirement spec names its provider with consumes: department/interface")
    return pairs


_WHICH_IS_WHICH = "the first argument is the provider's interface spec, the second the consumer's requirement"


def _one_pair(provider_path: Path, consumer_path: Path, interface: str | None, spec_root: Path | None,
              handlers: Handler) -> Pair:
    from mvptest.spec.check import load_specs
    from mvptest.spec.loader import display_path

    prov = load_specs([provider_path], spec_root=spec_root)
    if prov.errors:
        raise SpecError(prov.errors)
    # The requirement is loaded beside the provider named on the command line: a department's own requirement
    # need not live in the provider's spec tree.
    both = load_specs([provider_path, consumer_path], spec_root=spec_root)
    requirements = _requirements_of(both, consumer_path)
    if not prov.interfaces:
        raise InputError("holds no interface (kind: interface)", where=display_path(provider_path), hint=_WHICH_IS_WHICH)
    if not requirements:
        raise InputError("holds no requirement (kind: requirement)", where=display_path(consumer_path), hint=_WHICH_IS_WHICH)
    req = requirements[0]
    itf = select_interfaces(prov.interfaces, [interface] if interface else [], where=display_path(provider_path),
                            single=True, consumes=req.consumes, consumer=display_path(consumer_path))[0]
    if itf.key != req.consumes:
        handlers.handle(Note(f"{req.key} consumes {req.consumes}; comparing it with {itf.key} as asked", level="warning"))
    return itf, req


def _requirements_of(both: SpecSet, consumer_path: Path) -> list[Requirement]:
    """The requirements of the consumer's file; its problems raised, except that it consumes an interface the other
    file does not provide: the command line pairs them (located at the requirement's consumes:, not matched by text)."""
    cons_file = consumer_path.resolve()
    requirements = [r for r in both.requirements if Path(r.source.path).resolve() == cons_file]
    provided = {i.key for i in both.interfaces}
    unprovided: set[Location] = {r.consumes_at for r in requirements if r.consumes not in provided}
    problems = [p for p in both.errors if p.where not in unprovided and Path(p.where.path).resolve() == cons_file]
    if problems:
        raise SpecError(problems)
    return requirements


def adapter_for(adapters: list[Adapter], provider: str, consumer: str, *, single: bool) -> Adapter | None:
    """The adapter of a pair: the one given (which must not name another pair), or under --all the first that fits."""
    if not adapters:
        return None
    if single and len(adapters) == 1:
        a = adapters[0]
        for declared, actual, role in ((a.provider, provider, "provider"), (a.consumer, consumer, "consumer")):
            if declared and declared != actual:
                raise InputError(f"is an adapter for {role} {declared}, not {actual}", where=a.source,
                                 hint=f"suggest one for this pair with --suggest-adapter, or fix its {role}: key")
        return a
    for a in adapters:
        if (not a.provider or a.provider == provider) and (not a.consumer or a.consumer == consumer):
            return a
    return None


# --------------------------------------------------------------------------- the evidence


def _live_checks(live: LiveSource) -> Any:
    """The URL is one the network policy allows, the TLS files are readable: before any spec is loaded."""
    from mvptest.compat.sources import check_live_url
    from mvptest.net import tls

    check_live_url(live.url, live.allow_hosts)
    return tls.load(live.ca_bundle, live.client_cert, live.client_key)


def _sample(provider: Interface, config: CompatConfig, tls: Any) -> Sample | None:
    from mvptest.compat import sources

    if config.data is not None:
        if not config.data.exists():
            raise InputError("no such file", where=str(config.data))
        return sources.DataSample(config.data, provider, encoding=config.encoding, sheet=config.sheet, limit=config.samples)
    n = config.samples or sources.DEFAULT_SAMPLES
    if config.sandbox:
        return sources.SandboxSample(provider, seed=config.seed, samples=n, pools={}, rate=None, timeout_s=config.timeout_s)
    live = config.live
    if live is not None:
        pools = sources.load_params(live.params) if live.params else {}
        return sources.LiveSample(provider, live.url, samples=n, seed=config.seed, pools=pools, rate=live.rate,
                                  timeout_s=config.timeout_s, headers=parse_headers(live.headers), tls=tls)
    return None


def parse_headers(items: tuple[str, ...]) -> dict[str, str]:
    """NAME:VALUE pairs as request headers, ${ENV} substituted (the values become secrets)."""
    from mvptest.spec.env import substitute_env

    out = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"--header {item!r} is not NAME:VALUE", hint="e.g. --header 'Authorization:Bearer ${TOKEN}'")
        out[name.strip()] = substitute_env(value.strip(), where=Location("--header"), name=name.strip())
    return out
