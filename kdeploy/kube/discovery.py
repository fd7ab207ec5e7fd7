"""Discovery documents → a lookup table of resources (pure).

The API server describes its resources either in one aggregated document per root (`/api`, `/apis`,
`apidiscovery.k8s.io/v2`), or in the legacy form: a group list plus one `APIResourceList` per
group/version. Both are parsed here into `Discovery`, which resolves (apiVersion, kind) and
(group, kind) to a `ResourceInfo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kdeploy.kube.client import ResourceInfo

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)


@dataclass
class Discovery:
    """Resources by (apiVersion, kind), and the preferred version of each (group, kind)."""

    by_version: dict[tuple[str, str], ResourceInfo] = field(default_factory=dict)
    preferred: dict[tuple[str, str], ResourceInfo] = field(default_factory=dict)

    def add(self, info: ResourceInfo, *, preferred: bool) -> None:
        """Record a resource; the first one recorded for a (group, kind) is preferred unless a later
        one says it is."""
        self.by_version.setdefault((info.api_version, info.kind), info)
        key = (info.group, info.kind)
        if preferred or key not in self.preferred:
            self.preferred[key] = info

    def lookup(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource for an apiVersion and kind, or None."""
        return self.by_version.get((api_version, kind))

    def lookup_group(self, group: str, kind: str) -> ResourceInfo | None:
        """The preferred resource for a group and kind, or None."""
        return self.preferred.get((group, kind))

    def namespaced(self) -> list[ResourceInfo]:
        """The preferred version of every namespaced resource that serves `list`, by group and
        kind."""
        return sorted(
            (info for info in self.preferred.values() if info.namespaced and info.listable),
            key=lambda info: (info.group, info.kind),
        )


def _listable(resource: Mapping[str, Any]) -> bool:
    verbs = resource.get("verbs")
    return not isinstance(verbs, list) or "list" in verbs


def is_aggregated(doc: Mapping[str, Any]) -> bool:
    """True when a discovery response is an aggregated APIGroupDiscoveryList."""
    return doc.get("kind") == "APIGroupDiscoveryList"


def add_aggregated(discovery: Discovery, doc: Mapping[str, Any]) -> None:
    """Add every resource of an aggregated discovery document (versions come preferred first)."""
    for item in doc.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for index, version in enumerate(item.get("versions") or []):
            ver = str(version.get("version", ""))
            for res in version.get("resources") or []:
                kind = str((res.get("responseKind") or {}).get("kind") or "")
                plural = str(res.get("resource") or "")
                if not kind or not plural or "/" in plural:
                    continue
                info = ResourceInfo(
                    group=group,
                    version=ver,
                    kind=kind,
                    plural=plural,
                    namespaced=res.get("scope") == "Namespaced",
                    listable=_listable(res),
                )
                discovery.add(info, preferred=index == 0)


def legacy_group_versions(doc: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(group, groupVersion, is_preferred) of a legacy `APIGroupList` (/apis) or `APIVersions`
    (/api) document, preferred version first within each group."""
    if doc.get("kind") == "APIVersions" or ("versions" in doc and "groups" not in doc):
        return [("", str(v), i == 0) for i, v in enumerate(doc.get("versions") or [])]
    out: list[tuple[str, str, bool]] = []
    for group in doc.get("groups") or []:
        name = str(group.get("name", ""))
        preferred = str((group.get("preferredVersion") or {}).get("groupVersion", ""))
        versions = [str(v.get("groupVersion", "")) for v in group.get("versions") or []]
        versions.sort(key=lambda gv: gv != preferred)
        out.extend(
            (name, gv, gv == preferred or (not preferred and i == 0))
            for i, gv in enumerate(versions)
        )
    return out


def add_resource_list(
    discovery: Discovery, group: str, doc: Mapping[str, Any], *, preferred: bool
) -> None:
    """Add the resources of a legacy `APIResourceList` for one group/version."""
    group_version = str(doc.get("groupVersion", ""))
    version = group_version.rpartition("/")[2]
    for res in doc.get("resources") or []:
        plural = str(res.get("name") or "")
        kind = str(res.get("kind") or "")
        if not plural or not kind or "/" in plural:
            continue
        info = ResourceInfo(
            group=group,
            version=version,
            kind=kind,
            plural=plural,
            namespaced=bool(res.get("namespaced")),
            listable=_listable(res),
        )
        discovery.add(info, preferred=preferred)
