"""Block-style YAML text for plain data trees, laid out the way libyaml lays them out.

Rendering dumps every manifest, and PyYAML spends most of a dump in Python code around libyaml: it
builds a node per value, then the C emitter calls back into Python to resolve the tag of every
scalar, twice. Manifests repeat the same few hundred keys and values (labels, field names, kinds), so
this module asks libyaml once how it writes each distinct scalar (plain, quoted, escaped, or a `|`
block with its indicators) and lays out the mappings and sequences itself, with libyaml's rules:
keys at the mapping's column, nested mappings two columns in, sequences under a key not indented
(`key:\\n- item`), empty collections as `{}` and `[]`, block scalar lines two columns in from their
parent. Whatever is not a plain tree of dicts, lists, strings, integers, booleans, null and floats,
or needs a complex key (`? `), raises `NotBlockTree`, and the caller dumps it with libyaml as a
whole; tests/unit/test_yamlio.py checks the two agree on random trees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_NONE_TYPE = type(None)
_SCALARS = (str, int, bool, float, _NONE_TYPE)


class NotBlockTree(Exception):
    """The data holds something this layout does not cover; dump it with libyaml instead."""


# A scalar as libyaml writes it: its first line, and for a block scalar (`|`) its content lines
# relative to the parent's indentation (empty lines stay empty: libyaml never indents them).
_Piece = tuple[str, tuple[str, ...]]


class BlockEmitter:
    """Lays out trees with scalars written by `dump_one`, a libyaml dump of one value (the same
    settings as the full dump). Scalar pieces are cached for the emitter's lifetime."""

    def __init__(self, dump_one: Callable[[Any], str], cache_size: int = 16384) -> None:
        self._dump_one = dump_one
        self._value = functools.lru_cache(maxsize=cache_size, typed=True)(self._value_piece)
        self._key = functools.lru_cache(maxsize=cache_size, typed=True)(self._key_text)

    def _value_piece(self, value: Any) -> _Piece:
        text = self._dump_one({"k": value})
        if not text.startswith("k: ") or not text.endswith("\n"):
            raise NotBlockTree(value)
        first, *rest = text[3:-1].split("\n")
        if rest and "+" in first:
            raise NotBlockTree(value)  # `|+` makes libyaml end the document with `...`
        body = []
        for line in rest:
            if line and not line.startswith("  "):
                raise NotBlockTree(value)
            body.append(line[2:])
        return first, tuple(body)

    def _key_text(self, key: Any) -> str:
        text = self._dump_one({key: None})
        if not text.endswith(": null\n") or "\n" in text[:-7] or text.startswith("?"):
            raise NotBlockTree(key)  # a complex key (`? ...`): leave it to libyaml
        return text[:-7]

    def _scalar(self, value: Any) -> _Piece:
        if type(value) is float:  # 0.0 == -0.0 would share a cache entry
            return self._value_piece(value)
        return self._value(value)

    def dump(self, data: Any) -> str:
        """`data` (a non-empty dict or list, or an empty one) as one block document ending in a
        newline. Raises NotBlockTree for anything else."""
        kind = type(data)
        if kind is dict:
            if not data:
                return "{}\n"
            out: list[str] = []
            self._mapping(data, 0, out, first_inline=False)
            return "".join(out)
        if kind is list:
            if not data:
                return "[]\n"
            out = []
            self._sequence(data, 0, out, first_inline=False)
            return "".join(out)
        raise NotBlockTree(data)

    def _write_scalar(self, value: Any, indent: int, out: list[str]) -> None:
        first, body = self._scalar(value)
        if not body:
            out.append(first + "\n")
            return
        out.append(first)
        pad = " " * (indent + 2)
        for line in body:
            out.append("\n" + pad + line if line else "\n")
        out.append("\n")

    def _mapping(
        self, data: dict[Any, Any], indent: int, out: list[str], first_inline: bool
    ) -> None:
        pad = " " * indent
        key_text = self._key
        for i, (key, value) in enumerate(data.items()):
            if type(key) not in _SCALARS or type(key) is float:
                raise NotBlockTree(key)
            if i or not first_inline:
                out.append(pad)
            out.append(key_text(key))
            kind = type(value)
            if kind is dict:
                if value:
                    out.append(":\n")
                    self._mapping(value, indent + 2, out, first_inline=False)
                else:
                    out.append(": {}\n")
            elif kind is list:
                if value:
                    out.append(":\n")
                    self._sequence(value, indent, out, first_inline=False)
                else:
                    out.append(": []\n")
            elif kind is str or kind is int or kind is bool or kind is _NONE_TYPE:
                # the common case inline: a cached piece on one line
                first, body = self._value(value)
                if body:
                    out.append(": ")
                    self._write_scalar(value, indent, out)
                else:
                    out.append(": " + first + "\n")
            elif kind is float:
                out.append(": ")
                self._write_scalar(value, indent, out)
            else:
                raise NotBlockTree(value)

    def _sequence(self, data: list[Any], indent: int, out: list[str], first_inline: bool) -> None:
        pad = " " * indent
        for i, item in enumerate(data):
            out.append("- " if i == 0 and first_inline else pad + "- ")
            kind = type(item)
            if kind is dict:
                if item:
                    self._mapping(item, indent + 2, out, first_inline=True)
                else:
                    out.append("{}\n")
            elif kind is list:
                if item:
                    self._sequence(item, indent + 2, out, first_inline=True)
                else:
                    out.append("[]\n")
            elif kind in _SCALARS:
                self._write_scalar(item, indent, out)
            else:
                raise NotBlockTree(item)
