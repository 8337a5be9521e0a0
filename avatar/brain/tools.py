"""Catalog tools a served model may call while it words an answer (OpenAI function calling).

``get_product``, ``search_catalog``, ``compare`` and ``recommend`` read the show's catalog and
nothing else; what they return is data for the model, never an instruction (a product description
that says "ignore your rules" is returned as text like any other). Whatever the model then says is
still held to the answer plan sentence by sentence (:mod:`avatar.brain.phrasing`): a tool can give
the model more facts, never a way to say facts the plan does not.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from avatar.brain.catalog import Catalog, Product, localized
from avatar.brain.intents import mentioned
from avatar.brain.language import content_words
from avatar.engines.llm import ToolCall

__all__ = ["TOOLS", "run_tool"]

_ID: Final = {"type": "string", "description": "the product id"}

TOOLS: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "function": {
            "name": "get_product",
            "description": "The catalog facts of one product: price, deal, stock, specs, selling points.",
            "parameters": {"type": "object", "properties": {"product_id": _ID}, "required": ["product_id"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_catalog",
            "description": "Products of today's show whose names or details match the words.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "compare",
            "description": "The facts of two products side by side.",
            "parameters": {
                "type": "object",
                "properties": {"a": _ID, "b": _ID},
                "required": ["a", "b"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "recommend",
            "description": "Today's products with their category and current price, to pick one for a need.",
            "parameters": {"type": "object", "properties": {"need": {"type": "string"}}, "required": []},
        },
    },
]
"""The tool definitions, in the OpenAI ``tools`` format."""

MAX_RESULT_CHARS: Final = 2_000
"""A tool result is cut here: prompt tokens cost prefill time on the way to the first sentence."""


def _facts(product: Product, lang: str, now: datetime | None, catalog: Catalog) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "id": product.id,
        "name": product.name(lang),
        "price": catalog.format_price(product.price),
        "stock": product.stock,
        "specs": {localized(s.label, lang): localized(s.value, lang) for s in product.specs},
        "selling_points": list(product.selling_points.get(lang, ())),
    }
    if product.promo_active(now) and product.promo is not None:
        facts["deal"] = {
            "label": localized(product.promo.label, lang),
            "price": catalog.format_price(product.promo.price),
        }
    return facts


def run_tool(call: ToolCall, catalog: Catalog, lang: str, now: datetime | None = None) -> str:
    """The JSON result of one tool call; an unknown tool or product is an error result, not a crash."""
    args = call.arguments

    def product(key: str) -> Product | None:
        value = args.get(key)
        return catalog.get(value) if isinstance(value, str) and value in catalog else None

    result: Any
    if call.name == "get_product":
        found = product("product_id")
        result = _facts(found, lang, now, catalog) if found else {"error": "no such product"}
    elif call.name == "compare":
        a, b = product("a"), product("b")
        result = (
            [_facts(a, lang, now, catalog), _facts(b, lang, now, catalog)]
            if a and b
            else {"error": "no such product"}
        )
    elif call.name == "search_catalog":
        query = str(args.get("query", ""))
        named = list(mentioned(query, catalog))
        words = content_words(query)
        if not named:
            named = [p for p in catalog.products if words & content_words(" ".join(p.texts()))]
        result = [{"id": p.id, "name": p.name(lang)} for p in named[:5]]
    elif call.name == "recommend":
        result = [
            {
                "id": p.id,
                "name": p.name(lang),
                "category": p.category,
                "price": catalog.format_price(p.current_price(now)),
            }
            for p in catalog.products
        ]
    else:
        result = {"error": f"unknown tool {call.name!r}"}
    return json.dumps(result, ensure_ascii=False)[:MAX_RESULT_CHARS]
