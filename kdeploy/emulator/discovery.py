"""Discovery documents: aggregated (apidiscovery.k8s.io/v2) and legacy (APIVersions, APIGroupList,
APIResourceList), built from the registry."""

from __future__ import annotations

from typing import Any

from kdeploy.emulator.registry import SUB_VERBS, Registry, ResourceType

Obj = dict[str, Any]

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_SERVER_ADDRESS = [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]

VERSION_INFO: Obj = {
    "major": "1",
    "minor": "35",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-12-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> bool:
    """Whether an Accept header asks for aggregated discovery v2."""
    return "g=apidiscovery.k8s.io" in accept and "v=v2" in accept.replace("v=v2beta1", "")


def _aggregated_resource(rt: ResourceType) -> Obj:
    kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    out: Obj = {
        "resource": rt.plural,
        "responseKind": kind,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        response = (
            {"group": "autoscaling", "version": "v1", "kind": "Scale"} if sub == "scale" else kind
        )
        subs.append({"subresource": sub, "responseKind": response, "verbs": list(SUB_VERBS)})
    if subs:
        out["subresources"] = subs
    return out


def aggregated(registry: Registry, legacy_core: bool) -> Obj:
    """The APIGroupDiscoveryList for /api (legacy_core=True) or /apis."""
    items = []
    for group, versions in registry.group_versions():
        if (group == "") != legacy_core:
            continue
        entries = []
        for version in versions:
            resources = [
                _aggregated_resource(rt)
                for rt in registry.all()
                if rt.group == group and rt.version == version
            ]
            entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": entries})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def api_versions() -> Obj:
    """Legacy /api."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": _SERVER_ADDRESS,
    }


def _group_entry(group: str, versions: list[str]) -> Obj:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(registry: Registry) -> Obj:
    """Legacy /apis."""
    groups = [_group_entry(g, vs) for g, vs in registry.group_versions() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Obj | None:
    """Legacy /apis/<group>, or None if the group is not served."""
    for g, vs in registry.group_versions():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(g, vs)}
    return None


def api_resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    """Legacy /api/v1 or /apis/<group>/<version>, or None if not served."""
    types = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not types:
        return None
    resources: list[Obj] = []
    for rt in types:
        entry: Obj = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            sub_entry: Obj = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(SUB_VERBS),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }
