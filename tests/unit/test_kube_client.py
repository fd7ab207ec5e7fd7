"""API error mapping, discovery parsing and kubeconfig selection (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdeploy.errors import ClusterError, ConflictError
from kdeploy.kube import discovery as disc
from kdeploy.kube.client import error_from_status
from kdeploy.kube.config import ClusterTarget, new_api_client, resolve_kubeconfig

TARGET = {"action": "apply", "target": "Deployment.apps shop/web"}


def test_ssa_conflict_names_fields_and_managers() -> None:
    status = {
        "reason": "Conflict",
        "message": "Apply failed with 2 conflicts: ...",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-scale"',
                    "field": ".spec.replicas",
                },
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "hpa" using autoscaling/v2',
                    "field": ".spec.x",
                },
            ]
        },
    }
    err = error_from_status(status, 409, **TARGET)
    assert isinstance(err, ConflictError)
    assert err.message == (
        'apply Deployment.apps shop/web: conflict: .spec.x owned by "hpa" using autoscaling/v2; '
        '.spec.replicas owned by "kubectl-scale"'
    )
    assert "--force-conflicts" in err.format_message()


def test_invalid_lists_field_causes() -> None:
    status = {
        "reason": "Invalid",
        "message": "...",
        "details": {
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: -1: must be >= 0",
                    "field": "spec.replicas",
                },
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": "spec.selector",
                },
            ]
        },
    }
    err = error_from_status(status, 422, **TARGET)
    assert err.message == (
        "apply Deployment.apps shop/web: Invalid: spec.replicas: Invalid value: -1: must be >= 0; "
        "spec.selector: Required value"
    )


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (
            403,
            "Forbidden",
            'apply Deployment.apps shop/web: Forbidden: deployments.apps "web" is forbidden: no',
        ),
        (
            404,
            "NotFound",
            'apply Deployment.apps shop/web: NotFound: deployments.apps "web" is forbidden: no',
        ),
        (
            409,
            "Conflict",
            'apply Deployment.apps shop/web: Conflict: deployments.apps "web" is forbidden: no',
        ),
        (
            500,
            "InternalError",
            'apply Deployment.apps shop/web: InternalError: deployments.apps "web" is forbidden: no',
        ),
    ],
)
def test_other_errors_are_one_line_with_reason(code: int, reason: str, expected: str) -> None:
    err = error_from_status(
        {"reason": reason, "message": 'deployments.apps "web" is forbidden: no'}, code, **TARGET
    )
    assert err.message == expected and "\n" not in err.message
    assert isinstance(err, ConflictError) == (code == 409)


def test_error_without_status_body() -> None:
    assert error_from_status(None, 503, **TARGET).message == (
        "apply Deployment.apps shop/web: ServiceUnavailable (HTTP 503)"
    )


def test_aggregated_discovery_prefers_first_version() -> None:
    doc = {
        "kind": "APIGroupDiscoveryList",
        "items": [
            {
                "metadata": {"name": "autoscaling"},
                "versions": [
                    {
                        "version": "v2",
                        "resources": [
                            {
                                "resource": "horizontalpodautoscalers",
                                "responseKind": {"kind": "HorizontalPodAutoscaler"},
                                "scope": "Namespaced",
                            }
                        ],
                    },
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "horizontalpodautoscalers",
                                "responseKind": {"kind": "HorizontalPodAutoscaler"},
                                "scope": "Namespaced",
                            },
                            {
                                "resource": "horizontalpodautoscalers/status",
                                "responseKind": {"kind": "HorizontalPodAutoscaler"},
                                "scope": "Namespaced",
                            },
                        ],
                    },
                ],
            },
            {
                "metadata": {"name": ""},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "namespaces",
                                "responseKind": {"kind": "Namespace"},
                                "scope": "Cluster",
                            }
                        ],
                    }
                ],
            },
        ],
    }
    d = disc.Discovery()
    assert disc.is_aggregated(doc)
    disc.add_aggregated(d, doc)
    hpa = d.lookup_group("autoscaling", "HorizontalPodAutoscaler")
    assert hpa is not None and hpa.version == "v2" and hpa.namespaced
    v1 = d.lookup("autoscaling/v1", "HorizontalPodAutoscaler")
    assert v1 is not None and v1.plural == "horizontalpodautoscalers"
    ns = d.lookup("v1", "Namespace")
    assert ns is not None and not ns.namespaced and ns.api_version == "v1"


def test_legacy_discovery() -> None:
    groups = {
        "kind": "APIGroupList",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1beta1"}, {"groupVersion": "apps/v1"}],
                "preferredVersion": {"groupVersion": "apps/v1"},
            }
        ],
    }
    assert disc.legacy_group_versions(groups) == [
        ("apps", "apps/v1", True),
        ("apps", "apps/v1beta1", False),
    ]
    assert disc.legacy_group_versions({"kind": "APIVersions", "versions": ["v1"]}) == [
        ("", "v1", True)
    ]
    d = disc.Discovery()
    disc.add_resource_list(
        d,
        "apps",
        {
            "groupVersion": "apps/v1",
            "resources": [
                {"name": "deployments", "kind": "Deployment", "namespaced": True},
                {"name": "deployments/scale", "kind": "Scale", "namespaced": True},
            ],
        },
        preferred=True,
    )
    assert d.lookup("apps/v1", "Deployment") is not None
    assert d.lookup("apps/v1", "Scale") is None


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: "abc"}
contexts:
- name: one
  context: {cluster: c, user: u}
- name: two
  context: {cluster: c, user: u}
current-context: one
"""


def test_unknown_context_lists_the_available_ones(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    with pytest.raises(ClusterError) as info:
        new_api_client(ClusterTarget(kubeconfig=str(path), context="three"))
    assert info.value.message == (
        f"context 'three' not found in kubeconfig {path}; available contexts: one, two"
    )


def test_token_is_not_sent_over_plain_http(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    api = new_api_client(ClusterTarget(kubeconfig=str(path), context="two"))
    assert api.configuration.host == "http://127.0.0.1:1"
    assert not api.configuration.api_key


def test_missing_kubeconfig_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=r"kubeconfig .*nope does not exist"):
        new_api_client(ClusterTarget(kubeconfig=str(tmp_path / "nope")))


def test_kubeconfig_precedence(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(KUBECONFIG)
    b.write_text(KUBECONFIG)
    env = {"KUBECONFIG": f"{a}:{tmp_path / 'missing'}:{b}"}
    assert resolve_kubeconfig(None, env) == f"{a}:{b}"
    assert resolve_kubeconfig(str(b), env) == str(b)


def test_discovery_lists_the_listable_namespaced_kinds_in_their_preferred_version() -> None:
    d = disc.Discovery()
    disc.add_resource_list(
        d,
        "",
        {
            "groupVersion": "v1",
            "resources": [
                {"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": ["list"]},
                {"name": "bindings", "kind": "Binding", "namespaced": True, "verbs": ["create"]},
                {"name": "namespaces", "kind": "Namespace", "namespaced": False},
                {"name": "pods", "kind": "Pod", "namespaced": True},  # no verbs: listable
            ],
        },
        preferred=True,
    )
    assert [(i.api_version, i.kind) for i in d.namespaced()] == [
        ("v1", "ConfigMap"),
        ("v1", "Pod"),
    ]


# (a server without a scheme is refused before any client is made: see
# test_a_server_url_without_host_fails_at_once_naming_kubeconfig_and_context)
@pytest.mark.parametrize("server", ["HTTP://127.0.0.1:1", "Http://127.0.0.1:1"])
def test_no_credential_kind_survives_a_server_that_is_not_https(
    tmp_path: Path, server: str
) -> None:
    path = tmp_path / "config"
    users = ("{token: abc}", "{username: u, password: p}")
    for user in users:
        path.write_text(
            KUBECONFIG.replace('"http://127.0.0.1:1"', f'"{server}"').replace(
                '{token: "abc"}', user
            )
        )
        api = new_api_client(ClusterTarget(kubeconfig=str(path)))
        cfg = api.configuration
        assert not cfg.api_key and cfg.refresh_api_key_hook is None, user
        assert api.configuration.auth_settings() == {}
        assert api.endpoint.credentials_withheld


def test_the_endpoint_names_the_current_or_given_context_and_the_server(tmp_path: Path) -> None:
    from kdeploy.kube.config import endpoint_of

    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    current = endpoint_of(new_api_client(ClusterTarget(kubeconfig=str(path))))
    assert current.describe() == "context one at http://127.0.0.1:1"
    given = endpoint_of(new_api_client(ClusterTarget(kubeconfig=str(path), context="two")))
    assert given.lines()[0] == "Cluster: context two at http://127.0.0.1:1"
    assert given.lines()[1].startswith("Warning: http://127.0.0.1:1 is plain HTTP")


@pytest.mark.parametrize(
    "server",
    ["https://10.0.0.1:6443", "http://localhost", "HTTPS://[::1]:6443", "https://host/prefix/"],
)
def test_server_problem_accepts_api_server_urls(server: str) -> None:
    from kdeploy.kube.config import server_problem

    assert server_problem(server) is None
