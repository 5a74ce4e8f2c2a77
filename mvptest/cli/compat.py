"""``mvptest compat``: hold a provider's interface against each consumer's requirements, field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mvptest.errors import ExitCode, InputError, SpecError, UsageError

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("specs", nargs=-1, type=_PATH)
@click.option("--all", "all_dir", type=_PATH, metavar="DIR", help="Check every provider/consumer pair found under DIR (the matrix).")
@click.option("--interface", metavar="ID", help="Which interface of the provider spec (default: the one the requirement consumes).")
@click.option("--sandbox", is_flag=True, help="Evidence: sample the built-in sandbox of the provider's spec.")
@click.option("--live", metavar="URL", help="Evidence: sample the provider at this base URL (GET, rate-limited).")
@click.option("--data", "data", type=_PATH, metavar="FILE", help="Evidence: a provider's data export (JSON, NDJSON, CSV, .xlsx).")
@click.option("--samples", type=click.IntRange(1), help="Requests to sample with --live/--sandbox (default 200; --data: every record).")
@click.option("--rate", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True,
              help="Requests per second with --live: a provider in production is not ours to load.")
@click.option("--params", type=_PATH, metavar="FILE", help="Parameter values for --live: CSV with a header row or JSON.")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="Request header for --live (repeatable); ${ENV} is substituted.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True, help="Seconds per --live request.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST", help="Allow --live to reach this non-loopback host.")
@click.option("--ca-bundle", type=_PATH, metavar="FILE", help="With --live: PEM of a private CA to trust (besides the system's).")
@click.option("--client-cert", type=_PATH, metavar="FILE", help="With --live: client certificate for mutual TLS (PEM; may hold the key).")
@click.option("--client-key", type=_PATH, metavar="FILE", help="With --live: private key of --client-cert (PEM, unencrypted).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sandbox data and of the sampled parameters.")
@click.option("--adapter", "adapters", multiple=True, type=_PATH, metavar="FILE", help="Apply this adapter before checking (repeatable with --all: matched by provider and consumer).")
@click.option("--suggest-adapter", type=_PATH, metavar="FILE", help="Write the adapter that removes what a mechanical adjustment can (with --all: a folder, one file per pair).")
@click.option("--json-out", type=_PATH, help="Write the report as JSON (schema_version 1; with --all, default results/compat-matrix.json).")
@click.option("--md-out", type=_PATH, help="Write the format-issue report as Markdown, for the departments.")
@click.option("--csv-out", type=_PATH, help="Write the issues as CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--encoding", help="Encoding of a CSV --data file (default: detected).")
@click.option("--sheet", help="Sheet of an .xlsx --data file (default: the first).")
@click.option("--max-examples", default=3, show_default=True, type=click.IntRange(0, 20), help="Examples kept per issue.")
@click.option("--spec-root", type=_PATH, help="Folder that $ref may not leave (default: the spec's folder).")
@click.option("--no-mask", is_flag=True, help="Show sensitive values unmasked in reports (they are masked by default).")
def compat(specs: tuple[Path, ...], all_dir: Path | None, interface: str | None, sandbox: bool, live: str | None,
           data: Path | None, samples: int | None, rate: float, params: Path | None, headers: tuple[str, ...],
           timeout_s: float, allow_hosts: tuple[str, ...], ca_bundle: Path | None, client_cert: Path | None,
           client_key: Path | None, seed: int, adapters: tuple[Path, ...],
           suggest_adapter: Path | None, json_out: Path | None, md_out: Path | None, csv_out: Path | None,
           encoding: str | None, sheet: str | None, max_examples: int, spec_root: Path | None, no_mask: bool) -> int:
    """Compare what a provider serves with what a consumer requires, field by field.

    \b
    PROVIDER_SPEC CONSUMER_SPEC: an interface spec and a requirement spec. The schemas are
    compared first (through nested objects, arrays and $ref; a requirement maps its own
    names with from: /providerField); --sandbox, --live or --data add evidence: every record
    is checked against the consumer's requirement, each issue gets counts and masked
    examples, and what only the data shows is reported too.

    \b
    Examples:
      mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml
      mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml \\
          --sandbox --suggest-adapter tax-adapter.yaml --md-out tax-format-issues.md
      mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml \\
          --adapter tax-adapter.yaml
      mvptest compat specs/social-security/insured-person.yaml specs/medical-insurance/insured-person.yaml \\
          --data export.csv --csv-out issues.csv
      mvptest compat --all specs/ --sandbox --suggest-adapter adapters/

    \b
    The report speaks the consumer's terms: its field names and titles, department names
    as the specs give them. Warnings (e.g. a field the consumer requires but the provider
    may omit) do not make a pair incompatible unless the data shows them.

    Exit 0 when every pair is compatible, 1 when any is not, 2 on bad input, 3 when --live
    cannot reach the provider, 130 when interrupted (the report covers what was sampled).
    """
    from mvptest.cli._console import consoles
    from mvptest.compat.adapter import load_adapter
    from mvptest.compat.engine import PairResult, check_pair
    from mvptest.report import compat as report

    chosen = [x for x in (sandbox, live is not None, data is not None) if x]
    if len(chosen) > 1:
        raise UsageError("give at most one of --sandbox, --live and --data")
    if all_dir is not None and specs:
        raise UsageError("give either --all DIR or PROVIDER_SPEC CONSUMER_SPEC", hint="mvptest compat --all specs/")
    if all_dir is None and len(specs) != 2:
        raise UsageError("needs PROVIDER_SPEC and CONSUMER_SPEC (or --all DIR)",
                         hint="mvptest compat specs/market-supervision/enterprise-registration.yaml specs/tax/enterprise-registration.yaml")
    if all_dir is not None and (live or data):
        raise UsageError("--all takes evidence only from --sandbox", hint="check one pair at a time with --live or --data")
    if (params or headers) and not live:
        raise UsageError("--params and --header are for --live")
    if (ca_bundle or client_cert or client_key) and not live:
        raise UsageError("--ca-bundle, --client-cert and --client-key are for --live")
    tls = None
    if live:
        from mvptest.net import tls as tls_
        from mvptest.compat.sources import check_live_url

        check_live_url(live, allow_hosts)
        tls = tls_.load(ca_bundle, client_cert, client_key)

    pairs = _pairs(all_dir, specs, interface, spec_root)
    loaded = [load_adapter(p) for p in adapters]
    out, err = consoles()
    reporter = report.ConsoleReporter(out, err, masked=not no_mask)
    results: list[PairResult] = []
    for provider, consumer in pairs:
        adapter = _adapter_for(loaded, provider.key, consumer.key, single=all_dir is None)
        sample = _sample(provider, sandbox=sandbox, live=live, data=data, samples=samples, rate=rate, params=params,
                         headers=headers, timeout_s=timeout_s, seed=seed, encoding=encoding, sheet=sheet, tls=tls)
        progress = _Progress(err, f"{consumer.key} ← {provider.key}") if sample is not None else None
        try:
            result = check_pair(provider, consumer, adapter=adapter, sample=sample, mask=not no_mask,
                                max_examples=max_examples, on_record=progress.update if progress else None)
        finally:
            if progress:
                progress.stop()
        results.append(result)
        reporter.pair(result)
        if result.evidence is not None and result.evidence.interrupted:
            break
    full = report.CompatReport(results, masked=not no_mask)
    if all_dir is not None:
        reporter.matrix(full)
        if json_out is None:
            json_out = Path("results") / "compat-matrix.json"  # the matrix is always written as JSON
    for target, writer in ((json_out, report.write_json), (md_out, report.write_markdown), (csv_out, report.write_csv)):
        if target is not None:
            writer(full, target)
            err.print(f"wrote {target}")
    if suggest_adapter is not None:
        _write_adapters(results, suggest_adapter, single=all_dir is None, err=err)
    if full.interrupted:
        err.print("interrupted: the report covers the records sampled so far")
        return ExitCode.INTERRUPTED
    return ExitCode.OK if full.compatible else ExitCode.CHECK_FAILED


def _pairs(all_dir: Path | None, specs: tuple[Path, ...], interface: str | None, spec_root: Path | None) -> list[tuple[Any, Any]]:
    from mvptest.spec.check import load_specs
    from mvptest.spec.loader import display_path

    if all_dir is not None:
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
    provider_path, consumer_path = specs
    prov = load_specs([provider_path], spec_root=spec_root)
    if prov.errors:
        raise SpecError(prov.errors)
    # The requirement is loaded beside the provider named on the command line: a department's own requirement
    # need not live in the provider's spec tree.
    both = load_specs([provider_path, consumer_path], spec_root=spec_root)
    cons_file = consumer_path.resolve()
    cons = type(both)(requirements=[r for r in both.requirements if Path(r.source.path).resolve() == cons_file])
    problems = [p for p in both.errors if "which no interface spec provides" not in p.message
                and Path(p.where.path).resolve() == cons_file]
    if problems:
        raise SpecError(problems)
    if not prov.interfaces:
        raise InputError("holds no interface (kind: interface)", where=display_path(provider_path),
                         hint="the first argument is the provider's interface spec, the second the consumer's requirement")
    if not cons.requirements:
        raise InputError("holds no requirement (kind: requirement)", where=display_path(consumer_path),
                         hint="the first argument is the provider's interface spec, the second the consumer's requirement")
    req = cons.requirements[0]
    if interface:
        itf = prov.interface(interface)
        if itf is None:
            raise InputError(f"has no interface {interface!r}", where=display_path(provider_path),
                             hint="interfaces: " + ", ".join(i.id for i in prov.interfaces))
    else:
        itf = prov.interface(req.consumes)
        if itf is None:
            if len(prov.interfaces) > 1:
                raise InputError(f"has no interface {req.consumes!r}, which {display_path(consumer_path)} consumes",
                                 where=display_path(provider_path),
                                 hint="choose one with --interface: " + ", ".join(i.id for i in prov.interfaces))
            itf = prov.interfaces[0]
    if itf.key != req.consumes:
        from mvptest.cli._console import consoles

        consoles()[1].print(f"[yellow]warning:[/] {req.key} consumes {req.consumes}; comparing it with {itf.key} as asked")
    return [(itf, req)]


def _adapter_for(adapters: list[Any], provider: str, consumer: str, *, single: bool) -> Any:
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


def _sample(provider: Any, *, sandbox: bool, live: str | None, data: Path | None, samples: int | None, rate: float,
            params: Path | None, headers: tuple[str, ...], timeout_s: float, seed: int, encoding: str | None,
            sheet: str | None, tls: Any = None) -> Any:
    from mvptest.compat import sources

    if data is not None:
        if not data.exists():
            raise InputError("no such file", where=str(data))
        return sources.DataSample(data, provider, encoding=encoding, sheet=sheet, limit=samples)
    n = samples or sources.DEFAULT_SAMPLES
    if sandbox:
        return sources.SandboxSample(provider, seed=seed, samples=n, pools={}, rate=None, timeout_s=timeout_s)
    if live:
        pools = sources.load_params(params) if params else {}
        return sources.LiveSample(provider, live, samples=n, seed=seed, pools=pools, rate=rate, timeout_s=timeout_s,
                                  headers=_headers(headers), tls=tls)
    return None


def _headers(items: tuple[str, ...]) -> dict[str, str]:
    from mvptest.errors import Location
    from mvptest.spec.env import substitute_env

    out = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {item!r} is not NAME:VALUE", hint="e.g. --header 'Authorization:Bearer ${TOKEN}'")
        out[name.strip()] = substitute_env(value.strip(), where=Location("--header"), name=name.strip())
    return out


class _Progress:
    """Records checked so far, on stderr when it is a terminal."""

    def __init__(self, err: Any, label: str) -> None:
        self.status = err.status(f"{label}: sampling...") if err.is_terminal else None
        self.label = label
        if self.status is not None:
            self.status.start()

    def update(self, n: int) -> None:
        if self.status is not None and n % 10 == 0:
            self.status.update(f"{self.label}: {n:,} records checked")

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()


def _write_adapters(results: list[Any], target: Path, *, single: bool, err: Any) -> None:
    from mvptest.report import compat as report

    if single:
        report.write_adapter(results[0], target)
        err.print(f"wrote {target} ({len(results[0].suggested_steps())} steps)")
        return
    for r in results:
        if not r.suggested_steps():
            continue
        name = f"{r.consumer.key.replace('/', '--')}__{r.provider.key.replace('/', '--')}.adapter.yaml"
        report.write_adapter(r, target / name)
        err.print(f"wrote {target / name} ({len(r.suggested_steps())} steps)")
