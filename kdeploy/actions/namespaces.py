"""Deleting a Namespace is never a side effect. When a prune or an uninstall would delete one of
the release's Namespaces, it is deleted only with `--delete-namespaces`, or when the person at the
terminal confirms after reading what the namespace holds; with `--yes` alone (CI) it is kept, and
the output says so and how to delete it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kdeploy.actions.deps import Deps
from kdeploy.errors import ClusterError
from kdeploy.model import Manifest, ObjectKey
from kdeploy.namespace_contents import NamespaceContents, describe, summarize
from kdeploy.resources import MANAGED_BY_LABEL, MANAGED_BY_VALUE

if TYPE_CHECKING:
    from kdeploy.actions.diff import Target


# on a Namespace made by --create-namespace: the release (and environment) it was created for
CREATED_FOR_ANNOTATION = "kdeploy.dev/namespace-created-for"


def created_namespace_manifest(target: Target) -> Manifest:
    """The Namespace `--create-namespace` creates for a deploy target: labelled as kdeploy's but
    stamped with no release (it is not a release object, so no prune or uninstall deletes it),
    and annotated with the release it was created for."""
    created_for = f"release {target.release}"
    if target.environment:
        created_for += f" of environment {target.environment}"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": target.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
            "annotations": {CREATED_FOR_ANNOTATION: created_for},
        },
    }


def is_namespace(key: ObjectKey) -> bool:
    """Whether `key` is a core Namespace."""
    return key.group == "" and key.kind == "Namespace"


def namespace_contents(deps: Deps, name: str, release: str, namespace: str) -> NamespaceContents:
    """What namespace `name` holds (one LIST per listable namespaced kind), counted for release
    `release` of `namespace`. Kinds that cannot be listed are named, not fatal."""
    objects = []
    unreadable = []
    for info in deps.cluster.namespaced_kinds():
        try:
            objects += deps.cluster.list_by_labels(info.api_version, info.kind, name, "")
        except ClusterError:
            unreadable.append(info.kind)
    return summarize(name, objects, release, namespace, unreadable)


def namespaces_to_delete(
    deps: Deps,
    keys: Iterable[ObjectKey],
    release: str,
    namespace: str,
    *,
    delete_namespaces: bool,
    yes: bool,
) -> set[ObjectKey]:
    """Which of the Namespaces `keys` (to be pruned or uninstalled) may be deleted: all with
    `delete_namespaces`, those the user confirms on a terminal without `yes`, none otherwise.
    Says what each one holds before deleting or asking."""
    keys = [k for k in keys if is_namespace(k)]
    if not keys or not (delete_namespaces or (deps.output.interactive and not yes)):
        return set()
    chosen: set[ObjectKey] = set()
    for key in keys:
        contents = namespace_contents(deps, key.name, release, namespace)
        deps.output.info(f"  {describe(contents, release, namespace)}")
        plural = "s" if contents.total != 1 else ""
        if delete_namespaces or deps.output.confirm(
            deps.on_cluster(
                f"Delete Namespace {key.name} and everything in it ({contents.total} object{plural})"
            )
        ):
            chosen.add(key)
    return chosen


def kept_namespace_line(name: str, why: str) -> str:
    """The line saying a Namespace was kept, and how to delete it."""
    return (
        f"  kept Namespace {name} ({why}; deleting a namespace deletes everything in it): to "
        f"delete it, rerun with --delete-namespaces, or: kubectl delete namespace {name}"
    )
