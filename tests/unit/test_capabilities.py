"""kdeploy.capabilities: parsing --api-versions and answering kube.has()."""

from __future__ import annotations

import pytest

from kdeploy.capabilities import Known, api_names, from_cluster, offline, parse_api_versions
from kdeploy.errors import KdeployError


def test_api_versions_split_on_commas_and_a_kind_makes_its_group_version_known() -> None:
    got = parse_api_versions(["monitoring.coreos.com/v1/ServiceMonitor, x.io/v2", " /v1/ "])
    assert got == {
        "monitoring.coreos.com/v1/ServiceMonitor",
        "monitoring.coreos.com/v1",
        "x.io/v2",
        "v1",
    }
    assert parse_api_versions(["v1/ConfigMap"]) == {"v1/ConfigMap", "v1"}


def test_api_names_lists_group_versions_and_kinds() -> None:
    assert api_names([("apps/v1", "Deployment"), ("v1", "Pod")]) == {
        "apps/v1", "apps/v1/Deployment", "v1", "v1/Pod",
    }  # fmt: skip


def test_cluster_capabilities_are_read_once_and_only_when_used() -> None:
    calls: list[str] = []

    def version() -> str:
        calls.append("version")
        return "v1.31.2-eks-abc"

    def kinds() -> list[tuple[str, str]]:
        calls.append("kinds")
        return [("apps/v1", "Deployment")]

    kube = from_cluster(version, kinds)
    assert calls == []
    assert (kube.version, kube.major, kube.minor) == ("1.31.2", 1, 31)
    assert kube.has("apps/v1/Deployment") and not kube.has("policy/v1")
    assert calls == ["version", "kinds"]


def test_offline_rejects_a_malformed_version_at_once() -> None:
    with pytest.raises(KdeployError, match="--kube-version"):
        offline("one.two")
    assert offline("1.29").version == "1.29.0"
    assert isinstance(Known((1, 2, 3), frozenset()), Known)


def test_lookup_is_refused_without_opt_in_and_empty_offline() -> None:
    from kdeploy.lookup import Lookup, LookupFailure

    with pytest.raises(LookupFailure, match="package web does not allow lookup"):
        Lookup(None, "web", allowed=False)("v1", "Secret", "shop", "db")
    offline_lookup = Lookup(None, "web", allowed=True)
    assert offline_lookup("v1", "Secret", "shop", "db") is None
    assert offline_lookup("v1", "Secret", "shop") == []


def test_lookup_remembers_the_values_of_secrets_it_read() -> None:
    from kdeploy.lookup import Lookup

    secret = {"kind": "Secret", "data": {"password": "aHVudGVyMi1zZWNyZXQ="}}
    found = Lookup(lambda *_: secret, "web", allowed=True)
    got = found("v1", "Secret", "shop", "db")
    assert got == secret and got is not secret
    assert {"hunter2-secret", "aHVudGVyMi1zZWNyZXQ="} <= found.secret_strings
