"""The two YAML paths.

Files that people edit (package.yaml, values, schemas, environments, `-f` files) are read with
ruamel.yaml's safe loader, which runs on the C parser of ruamel.yaml.clib, follows YAML 1.2 (`yes` and
`on` stay strings) and rejects duplicate keys; syntax errors name file, line and column. Round-trip
mode would keep line numbers for later semantic errors too, but it is pure Python and measured about
9x slower on a 5 KB schema, so files are loaded without them and `key_lines` composes a file's node
tree again only when a message needs the line of a key (a schema error, an unused value).

Rendered manifests are parsed and dumped with PyYAML's libyaml bindings (`CSafeLoader` and
`CSafeDumper`), the fastest path available: rendering spends most of its time here. Dumps keep
insertion order, use block style and write multi-line strings as `|` blocks.

On both paths timestamps stay strings, as they do for kubectl: a manifest or a value is data to pass
on, never a datetime.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kdeploy.errors import ProjectError
from kdeploy.yamlblock import BlockEmitter, NotBlockTree

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_BUILDING = object()  # marks a collection under construction, to detect recursive aliases
# Wide enough that long strings (URLs, JSON blobs, certificates) are never folded across lines.
_DUMP_WIDTH = 1 << 20

_CLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_Resolver: Any = yaml.resolver.Resolver
_ScalarNode = yaml.ScalarNode


@functools.lru_cache(maxsize=8192)
def _resolve(kind: Any, value: Any, implicit: Any) -> Any:
    """The implicit tag of a node. A pure function of its kind and text, so cached: manifests repeat
    the same keys and values (labels, kinds, field names) and libyaml asks for every one of them, on
    parse and again on dump. Installed as a static method so that libyaml's calls go straight to
    the C cache, without a Python frame per scalar (the loader passes only text and None)."""
    return _Resolver().resolve(kind, value, implicit)


def _resolve_any(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
    # The emitter also asks about collections, passing their (unhashable) items.
    if type(value) is str:
        return _resolve(kind, value, implicit)
    return _Resolver.resolve(self, kind, value, implicit)


class _FastLoader(_CLoader):  # type: ignore[misc]
    """libyaml parser; timestamps kept as strings; duplicate mapping keys are an error."""

    resolve = staticmethod(_resolve)
    # libyaml's composer calls these path-resolver hooks around every node. A safe loader has no
    # path resolvers, so PyYAML's versions return at once; C builtins taking the same arguments
    # (parent node and index; nothing) do the same nothing without a Python frame per node, about
    # a tenth of the parse time.
    descend_resolver = staticmethod(slice)
    ascend_resolver = staticmethod(tuple)

    yaml_constructors = {
        **_CLoader.yaml_constructors,
        _TIMESTAMP_TAG: yaml.SafeLoader.construct_yaml_str,
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # kubectl rejects a manifest with a repeated key; libyaml would silently keep the last one.
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f'found duplicate key "{key_node.value}"',
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result

    def construct_document(self, node: yaml.Node) -> Any:
        # Rendered manifests are plain trees of mappings, lists and scalars. Building them directly
        # skips PyYAML's generic per-node machinery, which is most of the parse time; anything
        # unusual (merge keys, explicit tags) goes through the generic constructor.
        try:
            return self._build(node, {})
        finally:
            self.constructed_objects: dict[Any, Any] = {}
            self.recursive_objects: dict[Any, Any] = {}
            self.state_generators: list[Any] = []
            self.deep_construct = False

    def _build(self, node: yaml.Node, built: dict[int, Any]) -> Any:
        if type(node) is yaml.ScalarNode:
            if node.tag == _STR_TAG:
                return node.value
            constructor = self.yaml_constructors.get(node.tag)
            if constructor is None:
                return self.construct_object(node, deep=True)  # raises the usual error
            return constructor(self, node)
        key = id(node)
        if key in built:  # an alias
            if built[key] is _BUILDING:
                raise yaml.constructor.ConstructorError(
                    None, None, "found a recursive alias", node.start_mark
                )
            return built[key]
        built[key] = _BUILDING
        result: Any
        if (
            type(node) is yaml.MappingNode
            and node.tag == _MAP_TAG
            and not any(k.tag == _MERGE_TAG for k, _ in node.value)
        ):
            result = {}
            # Most keys and values are plain strings: taken inline, without a call per node.
            for key_node, value_node in node.value:
                if type(key_node) is _ScalarNode and key_node.tag == _STR_TAG:
                    item_key = key_node.value
                else:
                    item_key = self._build(key_node, built)
                try:
                    duplicate = item_key in result
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found an unhashable key",
                        key_node.start_mark,
                    ) from None
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f'found duplicate key "{key_node.value}"',
                        key_node.start_mark,
                    )
                if type(value_node) is _ScalarNode and value_node.tag == _STR_TAG:
                    result[item_key] = value_node.value
                else:
                    result[item_key] = self._build(value_node, built)
        elif type(node) is yaml.SequenceNode and node.tag == _SEQ_TAG:
            result = [
                item.value
                if type(item) is _ScalarNode and item.tag == _STR_TAG
                else self._build(item, built)
                for item in node.value
            ]
        else:
            result = self.construct_object(node, deep=True)
        built[key] = result
        return result


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text (config files, scripts, certificates) reads best as a literal block; libyaml
    # falls back to a quoted scalar by itself when a block cannot represent the text exactly.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _FastDumper(_CDumper):  # type: ignore[misc]
    """libyaml emitter; literal blocks for multi-line strings; never anchors and aliases."""

    yaml_representers = {**_CDumper.yaml_representers, str: _represent_str}
    resolve = _resolve_any

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent(self, data: Any) -> None:
        self.serialize(self._node(data))
        self.represented_objects: dict[Any, Any] = {}
        self.object_keeper: list[Any] = []
        self.alias_key = None

    def _node(self, data: Any) -> yaml.Node:
        # The same nodes PyYAML's representer builds for block style, without its per-object
        # dispatch; other types (numbers, booleans, null) go through the regular representers.
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR_TAG, data, style="|" if "\n" in data else None)
        if kind is dict:
            pairs = [(self._node(k), self._node(v)) for k, v in data.items()]
            return yaml.MappingNode(_MAP_TAG, pairs, flow_style=False)
        if kind is list:
            return yaml.SequenceNode(_SEQ_TAG, [self._node(v) for v in data], flow_style=False)
        node: yaml.Node = self.represent_data(data)
        return node


def fast_path_in_use() -> bool:
    """True when rendered YAML is parsed and dumped by libyaml (PyYAML's C bindings)."""
    return bool(
        getattr(yaml, "__with_libyaml__", False)
        and issubclass(_FastLoader, yaml.CSafeLoader)
        and issubclass(_FastDumper, yaml.CSafeDumper)
    )


def load_all_fast(text: str) -> list[Any]:
    """Every document of `text` (None for an empty one). Raises yaml.YAMLError on malformed input;
    the caller knows which template produced the text and reports it."""
    return list(yaml.load_all(text, Loader=_FastLoader))


@functools.lru_cache(maxsize=1)
def _block_emitter() -> BlockEmitter:
    return BlockEmitter(_dump_libyaml)


def dump_block(obj: Any) -> str:
    """`obj`, a plain tree of dicts and lists (exact types), as dump_fast writes it; raises
    NotBlockTree for anything else (a str or dict subclass, a tuple, a lone scalar)."""
    return _block_emitter().dump(obj)


def dump_fast(obj: Any) -> str:
    """`obj` as one block-style YAML document, keys in insertion order, ending in a newline.
    Exactly libyaml's text: trees of plain data are laid out by BlockEmitter with the scalars as
    libyaml writes them, anything else is dumped by libyaml itself."""
    try:
        return _block_emitter().dump(obj)
    except NotBlockTree:
        return _dump_libyaml(obj)


def _dump_libyaml(obj: Any) -> str:
    text: str = yaml.dump(
        obj,
        Dumper=_FastDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=_DUMP_WIDTH,
    )
    return text


def dump_all_fast(objs: Any) -> str:
    """Every object of `objs` as a YAML document, each starting with `---`."""
    text: str = yaml.dump_all(
        objs,
        Dumper=_FastDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=_DUMP_WIDTH,
        explicit_start=True,
    )
    return text


# Bounds on what a user file may expand to. Values are read by recursive code (merging, schema
# checks, templates), and aliases make a few hundred bytes stand for billions of values (an "alias
# bomb"): both are refused when the file is read, before anything else runs.
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 250_000
# The parser itself slows down quadratically with flow nesting (`[[[[...`), so brackets are
# counted before parsing; the slack allows for unbalanced brackets inside strings.
_MAX_BRACKET_DEPTH = 2 * MAX_DEPTH
_BRACKETS = re.compile(r"[\[\]{}]")


class YamlTooComplex(Exception):
    """A user file nests deeper than MAX_DEPTH or its aliases expand beyond MAX_EXPANDED_NODES;
    `mark` is where (a ruamel mark, or None)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


def _check_brackets(text: str) -> None:
    """Refuse text whose `[`/`{` nest far deeper than MAX_DEPTH, before the parser sees it."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > _MAX_BRACKET_DEPTH:
                line = text.count("\n", 0, match.start())
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1)
                raise YamlTooComplex(f"nested deeper than {MAX_DEPTH} levels", _Mark(line, column))
        elif depth:
            depth -= 1


@dataclass(frozen=True)
class _Mark:
    line: int
    column: int


def check_node_bounds(root: Any) -> None:
    """Walk a composed YAML node graph as the loaded data would be (each alias counted once per use)
    without recursion, stopping as soon as it nests deeper than MAX_DEPTH or counts more than
    MAX_EXPANDED_NODES values. Raises YamlTooComplex naming the node where it stopped."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    stack: list[tuple[Any, int]] = [(root, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_EXPANDED_NODES:
            raise YamlTooComplex(
                f"aliases expand to more than {MAX_EXPANDED_NODES} values (an alias bomb?)",
                node.start_mark,
            )
        if isinstance(node, MappingNode):
            children = [item for pair in node.value for item in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            continue
        if depth > MAX_DEPTH:
            raise YamlTooComplex(f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
        stack.extend((child, depth + 1) for child in children)


@functools.lru_cache(maxsize=1)
def _user_yaml_class() -> Any:
    """ruamel's safe constructor, with timestamps kept as strings and the bounds of
    `check_node_bounds` applied to each document before it is built (built on first use, so
    commands that never read user files do not import ruamel)."""
    from ruamel.yaml.constructor import SafeConstructor

    class _UserConstructor(SafeConstructor):
        def construct_document(self, node: Any) -> Any:
            check_node_bounds(node)
            return super().construct_document(node)

    _UserConstructor.add_constructor(_TIMESTAMP_TAG, SafeConstructor.construct_yaml_str)
    return _UserConstructor


def _user_yaml() -> Any:
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=False)
    loader.Constructor = _user_yaml_class()
    return loader


def user_yaml_is_c_accelerated() -> bool:
    """True when user files are parsed by ruamel.yaml.clib's C parser."""
    return "CParser" in getattr(_user_yaml().Parser, "__name__", "")


def load_user_text(text: str, source: str) -> Any:
    """Parse one YAML document that a person wrote; `source` names it in errors ('<file>' or
    '--set x'). Returns None for an empty document. Raises ProjectError naming source:line:column
    and the problem."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        _check_brackets(text)
        return _user_yaml().load(text)
    except YamlTooComplex as e:
        mark = e.mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise ProjectError(
            f"{where}: {e.problem}",
            hint=f"kdeploy reads YAML nested at most {MAX_DEPTH} levels deep, with aliases "
            f"expanding to at most {MAX_EXPANDED_NODES} values; flatten the structure or "
            "repeat less through aliases",
        ) from None
    except RecursionError:
        raise ProjectError(
            f"{source}: nested too deep to read",
            hint=f"kdeploy reads YAML nested at most {MAX_DEPTH} levels deep",
        ) from None
    except MarkedYAMLError as e:
        raise ProjectError(_describe_marked_error(e, source), hint=_YAML_HINT) from None
    except YAMLError as e:
        raise ProjectError(f"{source}: invalid YAML: {e}", hint=_YAML_HINT) from None


_YAML_HINT = "fix the YAML at that position (indentation, a missing ':', an unclosed quote or bracket, a repeated key)"


def _describe_marked_error(e: Any, source: str) -> str:
    mark = e.problem_mark or e.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = (e.problem or "").strip() or str(e).strip()
    message = f"{where}: invalid YAML: {problem}"
    if e.context and e.context_mark is not None and e.context_mark is not mark:
        message += f" ({e.context} started at line {e.context_mark.line + 1})"
    return message


def load_user_file(path: Path, display: str | None = None) -> Any:
    """Read and parse a YAML file that a person edits. `display` is how errors name the file
    (default: the path). Returns None for an empty file. Raises ProjectError when the file cannot be
    read or is not valid YAML, naming file:line:column."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{name}: file not found") from None
    except UnicodeDecodeError as e:
        raise ProjectError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ProjectError(f"{name}: cannot read: {e.strerror or e}") from None
    return load_user_text(text, name)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The 1-based line of every mapping key and list item in the YAML document `text`, by its
    path (keys and list indexes as text: `("releases", "web", "values", "replicas")`). Only the
    node tree is built (no values), so this is cheap enough to run when a message needs a line;
    returns {} for text that does not parse."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    try:
        root = _user_yaml().compose(text)
    except YAMLError:
        return {}
    lines: dict[tuple[str, ...], int] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if not isinstance(key.value, str) or key.tag.endswith(":merge"):
                    continue
                child = (*path, key.value)
                lines.setdefault(child, key.start_mark.line + 1)
                stack.append((value, child))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, str(index))
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((item, child))
    return lines
