"""Hooks (pure): objects annotated `kdeploy.dev/hook` run at a phase of apply or rollback instead of
being part of the release's normal objects.

This module reads and checks the hook annotations, separates hooks from the regular objects and
orders the hooks of a phase; running them is `kdeploy.actions.hooks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kdeploy.errors import ValidationError
from kdeploy.model import Manifest, ObjectKey

HOOK_ANNOTATION = "kdeploy.dev/hook"
WEIGHT_ANNOTATION = "kdeploy.dev/hook-weight"
DELETE_POLICY_ANNOTATION = "kdeploy.dev/hook-delete-policy"

PHASES = ("pre-apply", "post-apply", "pre-rollback", "post-rollback", "test")
# the phase no operation runs by itself: `kdeploy test` runs these hooks on demand
TEST_PHASE = "test"
DELETE_POLICIES = ("before-run", "on-success", "never")
DEFAULT_DELETE_POLICY = "before-run"

Operation = Literal["apply", "rollback"]
When = Literal["pre", "post"]


class HookAnnotationError(ValidationError):
    """A hook annotation has a value kdeploy does not know."""


@dataclass(frozen=True)
class Hook:
    """One hook object: its manifest, the phases it runs at, its weight and delete policy."""

    manifest: Manifest
    phases: tuple[str, ...]
    weight: int = 0
    delete_policy: str = DEFAULT_DELETE_POLICY

    @property
    def key(self) -> ObjectKey:
        return ObjectKey.of(self.manifest)

    def order(self) -> tuple[int, str, str, str]:
        """Sort key within a phase: weight ascending, then kind, namespace and name."""
        key = self.key
        return (self.weight, key.kind, key.namespace, key.name)

    @property
    def label(self) -> str:
        """Kind and namespace/name, e.g. "Job shop/migrate"."""
        key = self.key
        return (
            f"{key.kind} {key.namespace}/{key.name}" if key.namespace else f"{key.kind} {key.name}"
        )

    def describe(self, phase: str) -> str:
        """One line for a person, e.g. "pre-apply Job shop/migrate (weight -5)"."""
        return f"{phase} {self.label} (weight {self.weight})"


def is_hook(manifest: Mapping[str, Any]) -> bool:
    """True when the manifest carries a `kdeploy.dev/hook` annotation (valid or not)."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and HOOK_ANNOTATION in annotations


def parse_hook(manifest: Manifest, source: str = "") -> Hook | None:
    """The hook a manifest declares, or None when it is not a hook.

    Raises HookAnnotationError naming the object and `source` (its template, or where the manifest
    came from) when a hook annotation has an unknown phase, a non-integer weight or an unknown
    delete policy, or when weight/delete-policy annotations appear without a hook annotation."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    if not isinstance(annotations, Mapping):
        return None
    where = f"{source}: " if source else ""
    what = f"{where}{_label(ObjectKey.of(manifest))}"
    if HOOK_ANNOTATION not in annotations:
        stray = [a for a in (WEIGHT_ANNOTATION, DELETE_POLICY_ANNOTATION) if a in annotations]
        if stray:
            raise HookAnnotationError(
                f"{what}: annotation {stray[0]} without {HOOK_ANNOTATION}",
                hint=f"add {HOOK_ANNOTATION}: <phase> ({', '.join(PHASES)}) or remove {stray[0]}",
            )
        return None
    raw = str(annotations.get(HOOK_ANNOTATION) or "")
    phases = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    unknown = [p for p in phases if p not in PHASES]
    if not phases or unknown:
        shown = unknown[0] if unknown else raw
        raise HookAnnotationError(
            f"{what}: annotation {HOOK_ANNOTATION}: unknown phase {shown!r}",
            hint=f"use one or more of {', '.join(PHASES)}, separated by commas",
        )
    weight_text = str(annotations.get(WEIGHT_ANNOTATION, "0")).strip()
    try:
        weight = int(weight_text)
    except ValueError:
        raise HookAnnotationError(
            f"{what}: annotation {WEIGHT_ANNOTATION}: {weight_text!r} is not an integer",
            hint='write a whole number as a string, e.g. "-5" (lower weights run first)',
        ) from None
    policy = str(annotations.get(DELETE_POLICY_ANNOTATION, DEFAULT_DELETE_POLICY)).strip()
    if policy not in DELETE_POLICIES:
        raise HookAnnotationError(
            f"{what}: annotation {DELETE_POLICY_ANNOTATION}: unknown policy {policy!r}",
            hint=f"use one of {', '.join(DELETE_POLICIES)}",
        )
    return Hook(manifest=manifest, phases=phases, weight=weight, delete_policy=policy)


@dataclass(frozen=True)
class Split:
    """A release's manifests separated into regular objects (in their original order) and
    hooks."""

    regular: tuple[Manifest, ...]
    hooks: tuple[Hook, ...]

    def for_phase(self, phase: str) -> list[Hook]:
        """The hooks that run at `phase`, in run order."""
        return hooks_for(self.hooks, phase)


def split(manifests: Iterable[Manifest], source: str = "") -> Split:
    """Separate hooks from regular objects. Raises HookAnnotationError (see parse_hook)."""
    regular: list[Manifest] = []
    hooks: list[Hook] = []
    for manifest in manifests:
        hook = parse_hook(manifest, source)
        if hook is None:
            regular.append(manifest)
        else:
            hooks.append(hook)
    return Split(tuple(regular), tuple(hooks))


def hooks_for(hooks: Iterable[Hook], phase: str) -> list[Hook]:
    """The hooks among `hooks` that run at `phase`, weight ascending, then kind/namespace/name."""
    return sorted((h for h in hooks if phase in h.phases), key=Hook.order)


def phase(operation: Operation, when: When) -> str:
    """The phase name of an operation's pre or post step, e.g. ("rollback", "pre") ->
    "pre-rollback"."""
    return f"{when}-{operation}"


def hook_lines(hooks: Iterable[Hook]) -> list[str]:
    """One line per (phase, hook) in phase order then run order, for diffs and plans."""
    hooks = list(hooks)
    return [h.describe(p) for p in PHASES for h in hooks_for(hooks, p)]


def hooks_json(hooks: Iterable[Hook], changed: Iterable[ObjectKey] = ()) -> list[dict[str, Any]]:
    """The `hooks` array of `diff --output json`: one entry per hook object (documented in
    docs/hooks.md)."""
    changed_keys = set(changed)
    ordered = sorted(hooks, key=lambda h: (min(PHASES.index(p) for p in h.phases), h.order()))
    return [
        {
            "phases": list(h.phases),
            "weight": h.weight,
            "deletePolicy": h.delete_policy,
            "apiVersion": str(h.manifest.get("apiVersion", "")),
            "kind": h.key.kind,
            "namespace": h.key.namespace,
            "name": h.key.name,
            "changed": h.key in changed_keys,
        }
        for h in ordered
    ]


def _label(key: ObjectKey) -> str:
    return f"{key.kind} {key.namespace}/{key.name}" if key.namespace else f"{key.kind} {key.name}"
