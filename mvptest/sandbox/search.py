"""Search interfaces in the sandbox: a total and pages of items that match what was searched, as a provider answers."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mvptest.formats import places
from mvptest.spec.model import Interface
from mvptest.spec.refs import BundledSchema
from mvptest.synth import Synthesizer, values

TOTAL_NAMES = ("total", "totalcount", "count", "totalelements", "totalrecords", "recordcount")
ITEMS_NAMES = ("items", "records", "list", "rows", "data", "content", "results")
PAGE_NAMES = ("page", "pageno", "pagenum", "pagenumber", "current")
SIZE_NAMES = ("size", "pagesize", "limit", "perpage", "per_page", "rows")
DEFAULT_PAGE_SIZE = 10
MAX_TOTAL = 120  # matches per searched text: 0 (nothing found) up to twelve pages of ten


@dataclass
class Search:
    """How one interface searches: which parameter is the text, which item field must contain it, how it pages."""

    total: str
    items: str
    text: str  # the query parameter searched for
    field: str  # the item property that contains it
    page: str | None
    size: str | None
    page_size: int
    item: Synthesizer
    company: bool  # the field holds an enterprise name: the text goes in as its brand

    def answer(self, record: dict[str, Any], params: dict[str, Any], seed: int, key: str,
               valid: Callable[[Any], bool]) -> dict[str, Any]:
        """``record`` (a drawn response) with the total and the page of items this search finds."""
        text = params.get(self.text)
        if not isinstance(text, str) or not text:
            return record
        found = _draw(seed, key, text).randint(0, MAX_TOTAL)
        size = _int(params.get(self.size) if self.size else None, self.page_size, 1, self.page_size)
        page = _int(params.get(self.page) if self.page else None, 1, 1, 10**6)
        first = (page - 1) * size
        items = [self._item(seed, key, text, i) for i in range(first, min(found, first + size))]
        out = {**record, self.total: found, self.items: items}
        if valid(out):
            return out
        nothing = {**record, self.total: 0, self.items: []}  # no item can hold the text (too long for the field)
        return nothing if valid(nothing) else record

    def _item(self, seed: int, key: str, text: str, index: int) -> Any:
        rng = _draw(seed, key, text, index)
        place = places.draw(rng)
        if self.company:
            name = values.company(rng, place, brand=text)
        else:
            drawn = self.item.generate(rng, place=place)
            name = text + str(drawn.get(self.field, "")) if isinstance(drawn, dict) else text
        return self.item.generate(rng, overrides={self.field: name}, place=place)


def _draw(*key: Any) -> random.Random:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _int(value: Any, default: int, low: int, high: int) -> int:
    return max(low, min(high, value)) if isinstance(value, int) and not isinstance(value, bool) else default


def _find(props: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lowered = {str(p).lower(): str(p) for p in props}
    return next((lowered[n] for n in names if n in lowered), None)


def detect(itf: Interface) -> Search | None:
    """The search an interface answers, when its response is a total and a list of objects and it takes a text."""
    bundled = itf.response_schema
    root, base = bundled.resolve(bundled.schema)
    props = root.get("properties") if isinstance(root, dict) else None
    if not isinstance(props, dict):
        return None
    total, items = _find(props, TOTAL_NAMES), _find(props, ITEMS_NAMES)
    if total is None or items is None:
        return None
    array, array_base = bundled.resolve(props[items], base)
    if not isinstance(array, dict) or not isinstance(array.get("items"), dict):
        return None
    item_schema, item_base = bundled.resolve(array["items"], array_base)
    item_props = item_schema.get("properties") if isinstance(item_schema, dict) else None
    texts = [p for p in itf.parameters if p.location == "query" and _is_text(p.schema)
             and p.name.lower() not in PAGE_NAMES + SIZE_NAMES]
    if not isinstance(item_props, dict) or not texts:
        return None
    text = next((p for p in texts if p.required), texts[0]).name
    field = _match_field(text, item_props)
    if field is None:
        return None
    query = {p.name.lower(): p.name for p in itf.parameters if p.location == "query"}
    page = next((query[n] for n in PAGE_NAMES if n in query), None)
    size = next((query[n] for n in SIZE_NAMES if n in query), None)
    most = array.get("maxItems")
    page_size = min(DEFAULT_PAGE_SIZE, most) if isinstance(most, int) and most >= 1 else DEFAULT_PAGE_SIZE
    sub = bundled.resolve(item_props[field], item_base)[0]
    title = str(sub.get("title", "")) if isinstance(sub, dict) else ""
    company = values.text_hint(field, title, "") == "company"
    item = Synthesizer(BundledSchema(array["items"], array_base, bundled.resources))
    return Search(total, items, text, field, page, size, page_size, item, company)


def _is_text(schema: BundledSchema | None) -> bool:
    if schema is None:
        return False
    node = schema.resolve(schema.schema)[0]
    return isinstance(node, dict) and node.get("type") == "string" and "format" not in node and "enum" not in node


def _match_field(text: str, props: dict[str, Any]) -> str | None:
    """The item property the searched text is looked for in: the same name, else one ending in it (name ->
    enterpriseName), else the enterprise name."""
    lowered = text.lower()
    for name in props:
        if str(name).lower() == lowered:
            return str(name)
    ending = [str(n) for n in props if str(n).lower().endswith(lowered)]
    if ending:
        return ending[0]
    for name, sub in props.items():
        if isinstance(sub, dict) and values.text_hint(str(name), str(sub.get("title", "")), "") == "company":
            return str(name)
    return None
