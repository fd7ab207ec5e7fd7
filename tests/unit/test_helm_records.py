"""Decoding Helm's release records and what `kdeploy import helm` makes of them (pure)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from kdeploy.errors import HelmImportError
from kdeploy.helm.convert import (
    check_importable,
    current_revision,
    helm_cleanup_patch,
    hook_report,
    kdeploy_status,
    owned_manifests,
    ownership_problem,
    to_revision,
)
from kdeploy.helm.records import decode_record, helm_time, manifest_objects

MANIFEST = """\
---
# Source: shop/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    app.kubernetes.io/managed-by: Helm
data:
  greeting: "two"
---
# Source: shop/templates/role.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: web-reader
rules: []
"""


def release(**info: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "shop",
        "version": 2,
        "info": {
            "status": "deployed",
            "description": "Upgrade complete",
            "last_deployed": "2026-12-03T09:19:16.665550311Z",
            **info,
        },
        "chart": {
            "metadata": {"name": "shop", "version": "1.2.0", "appVersion": "2.0.1"},
            "values": {"greeting": "one", "image": {"tag": "1", "pull": "Always"}},
        },
        "config": {"greeting": "two", "image": {"pull": None}},
        "manifest": MANIFEST,
        "hooks": [
            {"name": "web-migrate", "kind": "Job", "events": ["pre-upgrade"]},
            {"name": "web-test", "kind": "Pod", "events": ["test"]},
        ],
    }


def secret_record(body: bytes, name: str = "sh.helm.release.v1.web.v2") -> dict[str, Any]:
    data = base64.b64encode(base64.b64encode(body)).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop", "labels": {"version": "2"}},
        "data": {"release": data},
    }


def gz(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


def test_a_secret_record_decodes_with_merged_values_and_hooks() -> None:
    rev = decode_record(secret_record(gz(release())))
    assert (rev.release, rev.namespace, rev.number, rev.status) == ("web", "shop", 2, "deployed")
    assert rev.record == "Secret shop/sh.helm.release.v1.web.v2"
    assert (rev.chart, rev.chart_version, rev.app_version) == ("shop", "1.2.0", "2.0.1")
    assert rev.deployed_at == "2026-12-03T09:19:16Z"
    # user values over the chart's defaults; a null removes the default, as in Helm
    assert rev.values == {"greeting": "two", "image": {"tag": "1"}}
    assert [(h.kind, h.name, h.events) for h in rev.hooks] == [
        ("Job", "web-migrate", ("pre-upgrade",)),
        ("Pod", "web-test", ("test",)),
    ]


def test_a_configmap_record_is_base64_once() -> None:
    record = {
        "kind": "ConfigMap",
        "metadata": {"name": "sh.helm.release.v1.web.v2", "namespace": "shop"},
        "data": {"release": base64.b64encode(gz(release())).decode()},
    }
    assert decode_record(record).record == "ConfigMap shop/sh.helm.release.v1.web.v2"


def test_an_uncompressed_json_record_is_read_as_helm_does() -> None:
    assert decode_record(secret_record(json.dumps(release()).encode())).number == 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"\n\x03web\x10\x02", "not JSON"),
        (b"\x1f\x8b\x08\x00broken", "not a valid gzip stream"),
        (gzip.compress(b"\n\x03web\x10\x02"), "protobuf"),
        (gz({"name": "web", "version": "two"}), "its revision number is 'two'"),
    ],
)
def test_an_unreadable_record_is_an_error_naming_it(body: bytes, why: str) -> None:
    with pytest.raises(HelmImportError) as caught:
        decode_record(secret_record(body))
    message = caught.value.message
    assert "Secret shop/sh.helm.release.v1.web.v2" in message and why in message
    assert "nothing was changed" in message


def test_a_record_without_release_data_or_not_base64_is_named() -> None:
    empty = {"kind": "Secret", "metadata": {"name": "x", "namespace": "shop"}, "data": {}}
    with pytest.raises(HelmImportError, match=r"Secret shop/x: it has no data\.release"):
        decode_record(empty)
    bad = {**empty, "data": {"release": "!!!"}}
    with pytest.raises(HelmImportError, match="not base64"):
        decode_record(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T09:19:15.53521076Z", "2026-12-03T09:19:15Z"),
        ("2026-12-03T10:19:15.5+01:00", "2026-12-03T09:19:15Z"),
        ("2026-12-03T09:19:15Z", "2026-12-03T09:19:15Z"),
        ("", ""),
        ("yesterday", ""),
    ],
)
def test_helm_times_become_utc_seconds(text: str, expected: str) -> None:
    assert helm_time(text) == expected


def test_manifest_objects_expand_lists_and_refuse_non_objects() -> None:
    rev = decode_record(secret_record(gz(release())))
    assert [o["kind"] for o in manifest_objects(rev)] == ["ConfigMap", "ClusterRole"]
    listed = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
    rev = decode_record(secret_record(gz({**release(), "manifest": listed})))
    assert [o["metadata"]["name"] for o in manifest_objects(rev)] == ["a"]
    rev = decode_record(secret_record(gz({**release(), "manifest": "just text"})))
    with pytest.raises(HelmImportError, match="not a Kubernetes object: just text"):
        manifest_objects(rev)


def test_owned_manifests_fill_the_namespace_of_namespaced_kinds_and_stamp_them() -> None:
    rev = decode_record(secret_record(gz(release())))
    cm, role = owned_manifests(rev, "prod", lambda _v, kind: kind != "ClusterRole")
    assert cm["metadata"]["namespace"] == "shop"
    assert "namespace" not in role["metadata"]
    assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kdeploy"
    assert cm["metadata"]["annotations"] == {
        "kdeploy.dev/release": "web",
        "kdeploy.dev/release-namespace": "shop",
        "kdeploy.dev/environment": "prod",
    }


def test_to_revision_keeps_number_status_time_and_chart() -> None:
    rev = decode_record(secret_record(gz(release(status="superseded"))))
    out = to_revision(rev, [], "", "alice@laptop")
    assert (out.number, out.status, out.started_at, out.finished_at) == (
        2,
        "superseded",
        "2026-12-03T09:19:16Z",
        "2026-12-03T09:19:16Z",
    )
    assert (out.package, out.package_version, out.app_version) == ("shop", "1.2.0", "2.0.1")
    assert out.description == "imported from Helm revision 2"
    assert out.values == {"greeting": "two", "image": {"tag": "1"}}
    assert out.user_values == {"greeting": "two", "image": {"pull": None}}
    assert out.result == (
        "Helm superseded: Upgrade complete (chart shop-1.2.0, app version 2.0.1; "
        "Secret shop/sh.helm.release.v1.web.v2)"
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("deployed", "deployed"),
        ("superseded", "superseded"),
        ("failed", "failed"),
        ("pending-upgrade", "failed"),
        ("uninstalled", "failed"),
    ],
)
def test_helm_statuses_map_to_kdeploy_statuses(status: str, expected: str) -> None:
    rev = decode_record(secret_record(gz(release(status=status))))
    assert kdeploy_status(rev) == expected


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("pending-install", "is pending-install: a helm command is still running"),
        ("pending-rollback", "is pending-rollback"),
        ("uninstalled", "the release was uninstalled"),
    ],
)
def test_a_release_whose_newest_revision_is_pending_or_uninstalled_is_refused(
    status: str, why: str
) -> None:
    older = decode_record(secret_record(gz({**release(status="superseded"), "version": 1})))
    newest = decode_record(secret_record(gz(release(status=status))))
    with pytest.raises(HelmImportError, match=why):
        check_importable([older, newest], "web", "shop")


def test_an_old_pending_revision_does_not_stop_the_import() -> None:
    old = decode_record(secret_record(gz({**release(status="pending-upgrade"), "version": 1})))
    newest = decode_record(secret_record(gz(release(status="deployed"))))
    check_importable([old, newest], "web", "shop")


def test_the_current_revision_is_the_newest_deployed_one() -> None:
    one = decode_record(secret_record(gz({**release(status="deployed"), "version": 1})))
    two = decode_record(secret_record(gz(release(status="failed"))))
    assert current_revision([one, two]).number == 1
    assert current_revision([two]).number == 2


def live(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": labels, "annotations": annotations}}


KDEPLOY = {"app.kubernetes.io/managed-by": "kdeploy"}


def test_ownership_problems_name_the_other_owner() -> None:
    helm_ours = live(
        {"app.kubernetes.io/managed-by": "Helm"},
        {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "shop"},
    )
    assert ownership_problem(helm_ours, "web", "shop") is None
    helm_other = live(
        {}, {"meta.helm.sh/release-name": "api", "meta.helm.sh/release-namespace": "shop"}
    )
    assert ownership_problem(helm_other, "web", "shop") == 'owned by Helm release "shop/api"'
    ours = live(KDEPLOY, {"kdeploy.dev/release": "web", "kdeploy.dev/release-namespace": "shop"})
    assert ownership_problem(ours, "web", "shop") is None
    other = live(KDEPLOY, {"kdeploy.dev/release": "api", "kdeploy.dev/release-namespace": "shop"})
    assert ownership_problem(other, "web", "shop") == (
        'owned by kdeploy release "api" in namespace shop'
    )
    assert ownership_problem(live({}, {}), "web", "shop") is None


def test_the_cleanup_patch_removes_helms_annotations_and_field_manager() -> None:
    obj = live(KDEPLOY, {"meta.helm.sh/release-name": "web", "kdeploy.dev/release": "web"})
    obj["metadata"]["managedFields"] = [
        {"manager": "helm", "operation": "Apply"},
        {"manager": "kdeploy", "operation": "Apply"},
    ]
    assert helm_cleanup_patch(obj) == {
        "metadata": {
            "annotations": {"meta.helm.sh/release-name": None},
            "managedFields": [{"manager": "kdeploy", "operation": "Apply"}],
        }
    }
    clean = live(KDEPLOY, {"kdeploy.dev/release": "web"})
    clean["metadata"]["managedFields"] = [{"manager": "kdeploy", "operation": "Apply"}]
    assert helm_cleanup_patch(clean) is None


def test_hooks_are_reported_as_skipped() -> None:
    rev = decode_record(secret_record(gz(release())))
    lines = hook_report(rev)
    assert lines[0].startswith("  skipped Helm hook Job web-migrate (pre-upgrade): not imported")
    assert "kdeploy.dev/hook" in lines[0]
    assert lines[1].startswith("  skipped Helm hook Pod web-test (test): a test hook, not imported")
    assert "kdeploy.dev/hook: test" in lines[1] and "`kdeploy test`" in lines[1]
