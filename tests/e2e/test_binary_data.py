"""Base64 fields (`binaryData` of a ConfigMap, `data` of a Secret) that are not base64: the API
server refuses them (400, as a real one does), and kdeploy never fails with an internal error
(exit 70) when it meets one, in a package or in a revision record stored by an older server."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from kubernetes import client, config

from tests.helpers import CliResult, LiveCluster, kd, live_project

NS_PREFIX = "bindata"

BAD_CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: blob
binaryData:
  payload: "not base64!"
"""


def _no_internal_error(result: CliResult) -> None:
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text, text
        assert "Internal error" not in text, text
    assert result.code != 70, result.stderr


def test_apply_of_binary_data_that_is_not_base64_is_refused_by_the_server(
    emulator: Any, ns: str, tmp_path: Path
) -> None:
    project = live_project(
        tmp_path, str(emulator.kubeconfig_path), ns, templates={"cm.yaml": BAD_CONFIGMAP}
    )
    result = kd(project, "apply", "-e", "dev", "--yes")
    _no_internal_error(result)
    assert result.code == 1
    assert f"ConfigMap {ns}/blob" in result.stderr
    assert "illegal base64 data at input byte 3" in result.stderr
    core = client.CoreV1Api(config.new_client_from_config(str(emulator.kubeconfig_path)))
    assert "blob" not in {c.metadata.name for c in core.list_namespaced_config_map(ns).items}


def test_a_revision_record_with_damaged_binary_data_is_a_clear_error(
    own_emulator: Any, ns: str, live: LiveCluster, tmp_path: Path
) -> None:
    project = live_project(tmp_path, str(own_emulator.kubeconfig_path), ns)
    assert kd(project, "apply", "-e", "dev", "--yes").code == 0
    # A server that did not check base64 (this emulator before it did, or a state file written
    # then) kept a damaged payload: put one straight into the store, and take it out afterwards.
    record = own_emulator.store.get("", "ConfigMap", ns, "kdeploy.web.v1")
    assert record is not None
    own_emulator.store.replace(
        copy.deepcopy(dict(record, binaryData={"payload.json.gz": "@@not-base64@@"}))
    )
    try:
        status = kd(project, "status", "web", "-e", "dev")
        _no_internal_error(status)
        assert status.code == 1, status.stderr
        assert (
            f"ConfigMap {ns}/kdeploy.web.v1: key binaryData.payload.json.gz is not valid base64"
            in status.stderr
        )
        assert "hint:" in status.stderr
        for command in (("diff", "-e", "dev"), ("apply", "-e", "dev", "--yes")):
            _no_internal_error(kd(project, *command))
    finally:
        # the session's cluster is shared: other tests read every ConfigMap's binaryData
        own_emulator.store.replace(copy.deepcopy(record))
