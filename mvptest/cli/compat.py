"""``mvptest compat``: hold a provider's interface against each consumer's requirements, field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mvptest.errors import UsageError

_PATH = click.Path(path_type=Path)


@click.command()
@click.argument("specs", nargs=-1, type=_PATH)
@click.option("--all", "all_dir", type=_PATH, metavar="DIR",
              help="Check every provider/consumer pair found under DIR (the matrix).")
@click.option("--interface", metavar="ID",
              help="Which interface of the provider spec (default: the one the requirement consumes).")
@click.option("--sandbox", is_flag=True, help="Evidence: sample the built-in sandbox of the provider's spec.")
@click.option("--live", metavar="URL", help="Evidence: sample the provider at this base URL (GET, rate-limited).")
@click.option("--data", "data", type=_PATH, metavar="FILE", help="Evidence: a provider's data export (JSON, NDJSON, CSV, .xlsx).")
@click.option("--samples", type=click.IntRange(1),
              help="Requests to sample with --live/--sandbox (default 200; --data: every record).")
@click.option("--rate", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True,
              help="Requests per second with --live: a provider in production is not ours to load.")
@click.option("--params", type=_PATH, metavar="FILE",
              help="Parameter values for --live: CSV with a header row (UTF-8 or GB18030), .xlsx or JSON.")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE",
              help="Request header for --live (repeatable); ${ENV} is substituted.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True,
              help="Seconds per --live request.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST", help="Allow --live to reach this non-loopback host.")
@click.option("--ca-bundle", type=_PATH, metavar="FILE", help="With --live: PEM of a private CA to trust (besides the system's).")
@click.option("--client-cert", type=_PATH, metavar="FILE",
              help="With --live: client certificate for mutual TLS (PEM; may hold the key).")
@click.option("--client-key", type=_PATH, metavar="FILE", help="With --live: private key of --client-cert (PEM, unencrypted).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sandbox data and of the sampled parameters.")
@click.option("--adapter", "adapters", multiple=True, type=_PATH, metavar="FILE",
              help="Apply this adapter before checking (repeatable with --all: matched by provider and consumer).")
@click.option("--suggest-adapter", type=_PATH, metavar="FILE",
              help="Write the adapter that removes what a mechanical adjustment can (with --all: a folder, one file per pair).")
@click.option("--json-out", type=_PATH,
              help="Write the report as JSON (schema_version 1; with --all, default results/compat-matrix.json).")
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
    from mvptest.cli._console import environment
    from mvptest.compat.session import MATRIX_JSON, CompatConfig, LiveSource, check_compat
    from mvptest.events import Handlers
    from mvptest.report import compat as report

    _check_options(specs, all_dir, sandbox=sandbox, live=live, data=data, live_only=(params, headers, ca_bundle,
                   client_cert, client_key))
    config = CompatConfig(
        specs=specs, all_dir=all_dir, interface=interface, sandbox=sandbox, data=data, samples=samples,
        live=LiveSource(live, rate, params, headers, allow_hosts, ca_bundle, client_cert, client_key) if live else None,
        timeout_s=timeout_s, seed=seed, adapters=adapters, encoding=encoding, sheet=sheet, max_examples=max_examples,
        spec_root=spec_root, mask=not no_mask)
    if all_dir is not None and json_out is None:
        json_out = MATRIX_JSON  # the matrix is always written as JSON
    env = environment()
    console = report.CompatConsole(env.stdout, env.stderr, masked=not no_mask)
    files = report.file_handlers(json_out=json_out, md_out=md_out, csv_out=csv_out, suggest_adapter=suggest_adapter,
                                 notify=console, data=data)
    return check_compat(config, Handlers([console, *files])).exit_code


def _check_options(specs: tuple[Path, ...], all_dir: Path | None, *, sandbox: bool, live: str | None, data: Path | None,
                   live_only: tuple[Any, ...]) -> None:
    """Options that cannot go together (the core checks what the specs and files say)."""
    params, headers, ca_bundle, client_cert, client_key = live_only
    if sum(1 for x in (sandbox, live is not None, data is not None) if x) > 1:
        raise UsageError("give at most one of --sandbox, --live and --data")
    if all_dir is not None and specs:
        raise UsageError("give either --all DIR or PROVIDER_SPEC CONSUMER_SPEC", hint="mvptest compat --all specs/")
    if all_dir is not None and (live or data):
        raise UsageError("--all takes evidence only from --sandbox", hint="check one pair at a time with --live or --data")
    if (params or headers) and not live:
        raise UsageError("--params and --header are for --live")
    if (ca_bundle or client_cert or client_key) and not live:
        raise UsageError("--ca-bundle, --client-cert and --client-key are for --live")
