"""Check one provider interface against one consumer requirement: statically, then with evidence from records.

The core of ``mvptest compat``; it never prints. Records come from a provider's data export, from the built-in
sandbox or from the live provider (see ``sources``); each is turned into the consumer's view (its field names,
through ``from:`` and the adapter) and checked with the consumer's own compiled schema, so that the evidence uses
exactly the rules ``mvptest validate`` applies. The pair's result is ``result.PairResult``; counting the records
is ``evidence.EvidenceCollector``; choosing the pairs and driving the loop is ``session.check_compat``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mvptest.compat.adapter import Adapter
from mvptest.compat.compare import FormatOptions, compare_fields
from mvptest.compat.evidence import EvidenceCollector
from mvptest.compat.fields import FieldInfo, field_table, leaf_fields
from mvptest.compat.result import MAX_EXAMPLES, Evidence, PairResult
from mvptest.compat.view import ConsumerView
from mvptest.spec.model import Interface, Requirement

__all__ = ["MAX_EXAMPLES", "Evidence", "PairResult", "RecordList", "Sample", "check_pair", "consumer_view", "static_check"]


# --------------------------------------------------------------------------- static


def static_check(provider: Interface, consumer: Requirement, adapter: Adapter | None = None) -> PairResult:
    """Compare the schemas: the consumer's requirement against its view of the provider (after the adapter)."""
    ptable = field_table(provider.response_schema)
    notes = adapter.unknown_fields(ptable) if adapter is not None else []
    ctable = field_table(consumer.schema)
    view = ConsumerView.build(ptable, ctable, adapter)
    issues = compare_fields(view, FormatOptions(provider.format_options, consumer.format_options))
    for issue in issues:
        issue.provider_own = view.own_description(issue.field)
    required = [f.pointer for f in leaf_fields(ctable) if f.effectively_required]
    return PairResult(provider, consumer, issues, view.sources, required, adapter, notes=notes, provider_fields=view.adapted,
                      consumer_fields=ctable, view=view)


def consumer_view(record: Any, sources: dict[str, str]) -> Any:
    """A provider record as a consumer reads it through from: alone (no adapter); see ConsumerView.record."""
    consumer = {cp: FieldInfo(cp, {"from": sp}, False) for cp, sp in sources.items()}
    provider = {sp: FieldInfo(sp, {}, False) for sp in sources.values()}
    return ConsumerView.build(provider, consumer).record(record)


class Sample:
    """Where evidence comes from: an iterable of provider records that also counts what gave no record."""

    label = ""

    def __init__(self) -> None:
        self.requests = 0
        self.unusable: Counter = Counter()
        self.position = ""  # where the record just yielded sits: "line 12" of a file, "request 7" of a sampling

    def __iter__(self) -> Iterator[Any]:  # pragma: no cover - interface
        raise NotImplementedError


class RecordList(Sample):
    def __init__(self, records: Iterable[Any], label: str = "records") -> None:
        super().__init__()
        self.records = records
        self.label = label

    def __iter__(self) -> Iterator[Any]:
        return iter(self.records)


def check_pair(provider: Interface, consumer: Requirement, *, adapter: Adapter | None = None,
               sample: Sample | None = None, mask: bool = True, max_examples: int = MAX_EXAMPLES,
               on_record: Callable[[int], None] | None = None) -> PairResult:
    """The static comparison, then (when a sample is given) the evidence of every record it yields.

    Ctrl-C while sampling keeps what was checked so far (the evidence says interrupted)."""
    result = static_check(provider, consumer, adapter)
    if sample is None:
        return result
    collector = EvidenceCollector(result, mask=mask, max_examples=max_examples)
    try:
        for record in sample:
            collector.add(record, at=sample.position)
            if on_record is not None:
                on_record(collector.evidence.records)
    except KeyboardInterrupt:
        collector.evidence.interrupted = True
    collector.evidence.source = sample.label  # after sampling: the label counts what was done
    collector.evidence.requests = sample.requests
    collector.evidence.unusable = sample.unusable
    return collector.finish()

