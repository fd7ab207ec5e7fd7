"""Server-side printing: `meta.k8s.io/v1 Table` answers for `kubectl get` and `helm status`."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, Callable[[Obj], Any]]

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: str) -> bool:
    """Whether an Accept header prefers a Table (`as=Table;…;g=meta.k8s.io`)."""
    first = accept.split(",", 1)[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def _last_seen(event: Obj) -> str:
    return _age({"metadata": {"creationTimestamp": event.get("lastTimestamp")}})


def _age(obj: Obj) -> str:
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        created = calendar.timegm(time.strptime(str(ts), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    s = max(0, int(time.time() - created))
    if s < 120:
        return f"{s}s"
    if s < 600:
        return f"{s // 60}m{s % 60}s"
    if s < 3600 * 3:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _get(obj: Obj, *path: str, default: Any = None) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(p)
    return default if cur is None else cur


def _pod_ready(pod: Obj) -> str:
    statuses = _get(pod, "status", "containerStatuses", default=[])
    total = len(_get(pod, "spec", "containers", default=[]))
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{total}"


def _pod_status(pod: Obj) -> str:
    if _get(pod, "metadata", "deletionTimestamp"):
        return "Terminating"
    for s in _get(pod, "status", "containerStatuses", default=[]):
        reason = _get(s, "state", "waiting", "reason") or _get(s, "state", "terminated", "reason")
        if reason:
            return str(reason)
    phase = str(_get(pod, "status", "phase", default="Pending"))
    return "Completed" if phase == "Succeeded" else phase


def _event_object(ev: Obj) -> str:
    kind = str(_get(ev, "involvedObject", "kind", default="")).lower()
    return f"{kind}/{_get(ev, 'involvedObject', 'name', default='')}"


def _restarts(pod: Obj) -> int:
    return sum(
        int(s.get("restartCount", 0)) for s in _get(pod, "status", "containerStatuses", default=[])
    )


def _ports(svc: Obj) -> str:
    out = []
    for p in _get(svc, "spec", "ports", default=[]):
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _columns(kind: str) -> list[Column]:
    extra: dict[str, list[Column]] = {
        "Namespace": [("Status", "string", lambda o: _get(o, "status", "phase", default=""))],
        "Pod": [
            ("Ready", "string", _pod_ready),
            ("Status", "string", _pod_status),
            ("Restarts", "string", lambda o: str(_restarts(o))),
        ],
        "Deployment": [
            (
                "Ready",
                "string",
                lambda o: (
                    f"{_get(o, 'status', 'readyReplicas', default=0)}/"
                    f"{_get(o, 'spec', 'replicas', default=1)}"
                ),
            ),
            ("Up-to-date", "integer", lambda o: _get(o, "status", "updatedReplicas", default=0)),
            ("Available", "integer", lambda o: _get(o, "status", "availableReplicas", default=0)),
        ],
        "ReplicaSet": [
            ("Desired", "integer", lambda o: _get(o, "spec", "replicas", default=1)),
            ("Current", "integer", lambda o: _get(o, "status", "replicas", default=0)),
            ("Ready", "integer", lambda o: _get(o, "status", "readyReplicas", default=0)),
        ],
        "StatefulSet": [
            (
                "Ready",
                "string",
                lambda o: (
                    f"{_get(o, 'status', 'readyReplicas', default=0)}/"
                    f"{_get(o, 'spec', 'replicas', default=1)}"
                ),
            ),
        ],
        "Service": [
            ("Type", "string", lambda o: _get(o, "spec", "type", default="ClusterIP")),
            ("Cluster-IP", "string", lambda o: _get(o, "spec", "clusterIP", default="<none>")),
            ("Ports", "string", _ports),
        ],
        "ConfigMap": [("Data", "integer", lambda o: len(_get(o, "data", default={})))],
        "Secret": [
            ("Type", "string", lambda o: _get(o, "type", default="Opaque")),
            ("Data", "integer", lambda o: len(_get(o, "data", default={}))),
        ],
        "Job": [
            (
                "Status",
                "string",
                lambda o: next(
                    (
                        c["type"]
                        for c in _get(o, "status", "conditions", default=[])
                        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                    ),
                    "Running",
                ),
            ),
        ],
    }
    if kind == "Event":
        return [
            ("Last Seen", "string", _last_seen),
            ("Type", "string", lambda o: _get(o, "type", default="")),
            ("Reason", "string", lambda o: _get(o, "reason", default="")),
            ("Object", "string", _event_object),
            ("Message", "string", lambda o: _get(o, "message", default="")),
        ]
    return [
        ("Name", "string", lambda o: _get(o, "metadata", "name", default="")),
        *extra.get(kind, []),
        ("Age", "string", _age),
    ]


def _wide(kind: str) -> list[Column]:
    """Columns `kubectl get -o wide` adds (priority 1)."""
    if kind == "Pod":
        return [
            ("IP", "string", lambda o: _get(o, "status", "podIP", default="<none>")),
            ("Node", "string", lambda o: _get(o, "spec", "nodeName", default="<none>")),
        ]
    if kind == "Event":
        return [("Name", "string", lambda o: _get(o, "metadata", "name", default=""))]
    if kind == "Deployment":
        return [
            (
                "Containers",
                "string",
                lambda o: ",".join(
                    c.get("name", "")
                    for c in _get(o, "spec", "template", "spec", "containers", default=[])
                ),
            ),
            (
                "Images",
                "string",
                lambda o: ",".join(
                    c.get("image", "")
                    for c in _get(o, "spec", "template", "spec", "containers", default=[])
                ),
            ),
        ]
    return []


def _partial(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def to_table(kind: str, objects: list[Obj], resource_version: str, include: str) -> Obj:
    """A Table of `objects` of one kind; `include` is Object, Metadata (default) or None."""
    columns = _columns(kind)
    wide = {name for name, _, _ in _wide(kind)}
    columns += _wide(kind)
    rows = []
    for obj in objects:
        row: Obj = {"cells": [fn(obj) for _, _, fn in columns]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = _partial(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": ctype,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": 1 if name in wide else 0,
            }
            for name, ctype, _ in columns
        ],
        "rows": rows,
    }
