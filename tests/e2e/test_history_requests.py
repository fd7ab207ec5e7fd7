"""API load of an apply on the release history: how often one `kdeploy apply` lists the release's
history ConfigMaps (each LIST returns every revision's record, so its cost grows with the
history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers import kd, live_project


def history_lists(log: list[tuple[str, str]], namespace: str) -> int:
    """How many requests in `log` list the history ConfigMaps of release web in `namespace`."""
    count = 0
    for method, target in log:
        parts = urlsplit(target)
        selector = parse_qs(parts.query).get("labelSelector", [""])[0]
        if (
            method == "GET"
            and parts.path == f"/api/v1/namespaces/{namespace}/configmaps"
            and "kdeploy.dev/release=web" in selector
        ):
            count += 1
    return count


def _apply(own_emulator: Any, root: Path, namespace: str, *args: str) -> int:
    """Run `kdeploy apply` and return how many history LISTs it sent."""
    start = len(own_emulator.request_log)
    result = kd(root, "apply", "-e", "dev", "--yes", "--no-wait", *args)
    assert result.code == 0, result.stderr
    return history_lists(own_emulator.request_log[start:], namespace)


def test_an_apply_lists_the_release_history_once_and_again_only_to_finish(
    tmp_path: Path, own_emulator: Any, namespace: str
) -> None:
    root = live_project(tmp_path / "project", str(own_emulator.kubeconfig_path), namespace)
    # once under the lock for recovery, planning and recording, and once more to mark the
    # revision deployed (the lock may have been lost during a long wait)
    assert _apply(own_emulator, root, namespace) == 2
    for i in range(3):
        assert _apply(own_emulator, root, namespace, "--set", f"greeting=v{i}") == 2
    # nothing to change: recovery and planning share the one read
    assert _apply(own_emulator, root, namespace, "--set", "greeting=v2") == 1
