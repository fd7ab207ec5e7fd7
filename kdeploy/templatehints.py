"""What to tell the author of a template that Jinja refused, most often for a Helm habit: the
kdeploy spelling of `.Values.x`, `| nindent 4`, `{{ toYaml x }}`, `{{ if }}...{{ end }}`, a macro
name that the imported library does not define, and where a block that is never closed opens.
Pure. Docs: docs/package-format.md ("For Helm users")."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import jinja2

# Helm's built-in objects and their names in kdeploy's template context
HELM_OBJECTS = {
    ".Values": "values",
    ".Release.Name": "release.name",
    ".Release.Namespace": "release.namespace",
    ".Chart.Name": "package.name",
    ".Chart.Version": "package.version",
    ".Chart.AppVersion": "package.appVersion",
    ".Files.Get": "files.get",
}
# Helm (Go template / Sprig) functions and how kdeploy writes them
HELM_FUNCTIONS = {
    "toYaml": "{{ x | toyaml }} (a block: {{ x | toyaml(indent=N) }} at column N)",
    "toJson": "{{ x | tojson }}",
    "nindent": "the expression on its own line, indented N spaces, with | indent(N) "
    "(| toyaml(indent=N) for a mapping or list)",
    "indent": "{{ x | indent(N) }}",
    "quote": "{{ x | quote }}",
    "default": "{{ x | default('a') }} (and default('a', true) to replace empty values too, as "
    "Helm's does)",
    "required": "{{ x | required('message') }}",
    "include": 'a macro: {% import "_helpers.j2" as h %} then {{ h.name(release) }}',
    "template": 'a macro: {% import "_helpers.j2" as h %} then {{ h.name(release) }}',
    "tpl": "a macro (kdeploy does not render strings from values as templates)",
    "b64enc": "{{ x | b64encode }}",
    "b64dec": "{{ x | b64decode }}",
    "sha256sum": "{{ x | sha256 }}",
    "trunc": "{{ x[:N] }} (slicing)",
    "trimSuffix": "{{ x.removesuffix('-') }}",
    "trimPrefix": "{{ x.removeprefix('v') }}",
    "upper": "{{ x | upper }}",
    "lower": "{{ x | lower }}",
    "printf": "{{ a ~ '-' ~ b }} (~ joins as strings)",
    "kindIs": "{{ x is mapping }}, {{ x is string }}, {{ x is sequence }}",
    "dict": "{{ dict(a=1) }} or {'a': 1}",
    "list": "[a, b]",
    "index": "{{ x['key'] }} or {{ x[0] }}",
    "empty": "{{ not x }}",
    "hasKey": "{{ 'key' in x }}",
}
# the Jinja filters kdeploy renames from Helm's
FILTER_RENAMES = {
    "toYaml": "toyaml",
    "toJson": "tojson",
    "b64enc": "b64encode",
    "b64dec": "b64decode",
    "sha256sum": "sha256",
    "nindent": "indent",
}
_GO_ACTION = re.compile(r"\{\{-?\s*(if|else|end|range|with|define|template|block)\b")
_HELM_OBJECT = re.compile(
    r"(?<![\w)\]])\.(Values|Release|Chart|Files|Capabilities|Template)\b[\w.]*"
)
_SPACED_FILTER = re.compile(r"\|\s*([A-Za-z_]\w*)\s+(?![|}\-%]|\b(?:is|in|and|or|not|if|else)\b)\S")
_GO_CALL = re.compile(
    r"\{\{-?\s*([A-Za-z_]\w*)\s+(?![|}\-%]|\b(?:is|in|and|or|not|if)\b)[\"'.$\w(]"
)
_MODULE_ATTRIBUTE = re.compile(r"TemplateModule object' has no attribute '([^']+)'")
_BLOCK_TAGS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "raw", "trans"})


def _kdeploy_object(helm: str) -> str:
    for prefix in sorted(HELM_OBJECTS, key=len, reverse=True):
        if helm == prefix or helm.startswith(prefix + "."):
            return HELM_OBJECTS[prefix] + helm[len(prefix) :]
    return HELM_OBJECTS[".Values"] if helm.startswith(".Values") else helm


def syntax_hint(message: str, line: str) -> str | None:
    """The kdeploy spelling for a Helm habit on template line `line` that gave Jinja's syntax
    error `message`, or None when the line shows none."""
    objects = [m.group(0) for m in _HELM_OBJECT.finditer(line)]
    if objects:
        pairs = ", ".join(f"{_kdeploy_object(o)} (not {o})" for o in dict.fromkeys(objects))
        return f"kdeploy templates name values without Helm's leading dot: write {pairs}"
    action = _GO_ACTION.search(line)
    if action:
        return (
            f"`{{{{ {action.group(1)} }}}}` is Go template syntax; kdeploy templates are Jinja2: "
            "{% if x %}...{% else %}...{% endif %}, {% for item in list %}...{% endfor %}, "
            "{% macro name(args) %}...{% endmacro %} instead of define/template"
        )
    if "$" in line and "unexpected char '$'" in message:
        return (
            "Helm's $variables: kdeploy templates set names with {% set name = value %} and use "
            "them without `$`"
        )
    spaced = _SPACED_FILTER.search(line)
    if spaced:
        name = spaced.group(1)
        if name == "nindent":
            return filter_hint(name, ())
        return f"filter arguments go in parentheses in kdeploy: `| {name}(...)`, not `| {name} ...`"
    call = _GO_CALL.search(line)
    if call and call.group(1) in HELM_FUNCTIONS:
        return function_hint(call.group(1))
    return None


def function_hint(name: str) -> str | None:
    """How kdeploy writes Helm's function `name` (`toYaml`, `include`...), or None."""
    spelling = HELM_FUNCTIONS.get(name)
    if spelling is None:
        return None
    return f"`{name}` is a Helm function; kdeploy pipes a value into a filter instead: {spelling}"


def filter_hint(name: str, known: Iterable[str]) -> str | None:
    """For an unknown filter `name`: its kdeploy name (Helm's toYaml is toyaml), else the closest
    known filter."""
    if name == "nindent":
        return f"`| nindent N` is Helm's: in kdeploy put {HELM_FUNCTIONS['nindent']}"
    renamed = FILTER_RENAMES.get(name)
    if renamed is not None:
        return f"kdeploy's filter is `| {renamed}` (Helm's {name})"
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean `| {close[0]}`?" if close else None


def missing_macro(message: str) -> str | None:
    """The name of the macro a template called on an imported library that does not define it
    (`'...TemplateModule object' has no attribute 'lables'`), or None."""
    m = _MODULE_ATTRIBUTE.search(message)
    return m.group(1) if m else None


def unclosed_block(
    env: jinja2.Environment, source: str, until_line: int | None = None
) -> tuple[str, int] | None:
    """The innermost block tag (`if`, `for`, `macro`...) still open at `until_line` (default:
    the end of `source`), and the line it opens on; None when every block is closed or the source
    does not lex."""
    stack: list[tuple[str, int]] = []
    try:
        tokens = [t for t in env.lex(source) if t[1] != "whitespace"]
    except jinja2.TemplateSyntaxError:
        return None
    for index, (lineno, kind, _value) in enumerate(tokens):
        if until_line is not None and lineno > until_line:
            break
        if kind != "block_begin" or index + 1 >= len(tokens):
            continue
        _, next_kind, name = tokens[index + 1]
        if next_kind != "name":
            continue
        if name in _BLOCK_TAGS or (name == "set" and _block_set(tokens, index + 2)):
            stack.append((name, lineno))
        elif name.startswith("end") and stack and stack[-1][0] == name[3:]:
            stack.pop()
    return stack[-1] if stack else None


def _block_set(tokens: list[tuple[int, str, str]], start: int) -> bool:
    """A `{% set x %}...{% endset %}` block (no `=` before the tag ends)."""
    for _, kind, value in tokens[start:]:
        if kind == "block_end":
            return True
        if kind == "operator" and value == "=":
            return False
    return False
