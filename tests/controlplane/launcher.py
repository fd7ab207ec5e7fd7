"""A real Kubernetes control plane on loopback, for tests: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (one fake node whose pods follow
tests/controlplane/kwok-stages.yaml), built from source by tests/controlplane/build.sh.

Python API::

    from tests.controlplane.launcher import ControlPlane

    with ControlPlane.start() as cp:    # build or reuse the binaries, start, wait until usable
        cp.kubeconfig_path              # admin kubeconfig (server, CA data, bearer token)
        cp.url                          # https://127.0.0.1:<port>
        cp.token                        # the admin bearer token (group system:masters)
        cp.ca_path                      # PEM of the CA that signed the serving certificate
        cp.version                      # e.g. "v1.37.2"
        cp.node_name                    # the kwok node pods are scheduled to
    # all processes stopped, the working directory removed

`ControlPlane.start(bin_dir=None, workdir=None, timeout=90.0, apiserver_args=())`: `bin_dir` holds the binaries
(default: run build.sh, which builds them once and then reuses its cache; the environment
variable KDEPLOY_CONTROL_PLANE_DIR moves that cache). `start()` returns once /readyz answers ok,
the `default` namespace has its `default` service account and the kwok node is Ready; the
StorageClasses `kwok-volume` (the default) and `gp3` have kwok provision and bind claims. Raises
`ControlPlaneUnavailable` when no Go toolchain is installed (the caller decides whether that is a
skip or a failure) and `ControlPlaneError` when a build step or a component fails; the message
names the step or component and ends with its log's last lines.

Every component runs in its own process group and is stopped by PID with SIGTERM, then SIGKILL;
`stop()` also runs at interpreter exit, and on Linux each child gets SIGKILL if the test process
dies without cleaning up (PR_SET_PDEATHSIG), so no process outlives the session. Set
KDEPLOY_CONTROL_PLANE_KEEP=1 to keep the working directory (logs, certificates) after stop.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kdeploy.emulator.tls import make_certificates

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build.sh"
STAGES_FILE = HERE / "kwok-stages.yaml"
NODE_NAME = "kwok-node-0"
SERVICE_CIDR = "10.96.0.0/16"


class ControlPlaneError(RuntimeError):
    """A build step or a component of the control plane failed."""


class ControlPlaneUnavailable(ControlPlaneError):
    """The control plane cannot be built here (no Go toolchain)."""


def kubernetes_version() -> str:
    """The pinned k8s.io/kubernetes version (from tests/controlplane/go.mod)."""
    for line in (HERE / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "k8s.io/kubernetes":
            return parts[1]
    raise ControlPlaneError(f"no k8s.io/kubernetes requirement in {HERE / 'go.mod'}")


def build() -> Path:
    """Build the binaries (or reuse the cached ones); returns their directory. The build's
    progress goes to the real stderr (pytest does not capture it), its last lines into errors."""
    proc = subprocess.Popen(
        ["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None and proc.stdout is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line.rstrip("\n"))
        if sys.__stderr__:
            sys.__stderr__.write(line)
    out = proc.stdout.read()
    code = proc.wait()
    if code == 3:
        raise ControlPlaneUnavailable("\n".join(lines).strip())
    if code != 0:
        tail = "\n".join(lines[-40:])
        raise ControlPlaneError(f"building the control plane failed:\n{tail}")
    return Path(out.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started us dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ControlPlane:
    """A running control plane; see the module docstring."""

    def __init__(self, bin_dir: Path, workdir: Path, owns_workdir: bool) -> None:
        self.bin_dir = bin_dir
        self.workdir = workdir
        self._owns_workdir = owns_workdir
        self.version = kubernetes_version()
        self.node_name = NODE_NAME
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig_path = str(workdir / "admin.kubeconfig")
        self.ca_path = str(workdir / "ca.crt")
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._ssl = ssl.create_default_context()
        # more kube-apiserver flags (e.g. an audit log for request counts in benchmarks/live.py)
        self.apiserver_args: tuple[str, ...] = ()

    # ---------------------------------------------------------------- public API

    @classmethod
    def start(
        cls,
        bin_dir: str | os.PathLike[str] | None = None,
        workdir: str | os.PathLike[str] | None = None,
        timeout: float = 90.0,
        apiserver_args: tuple[str, ...] = (),
    ) -> ControlPlane:
        """Start every component and wait until the cluster is usable (see the module docs).
        `apiserver_args` are passed to kube-apiserver after its own flags."""
        binaries = Path(bin_dir) if bin_dir else build()
        if workdir:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        directory = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kdeploy-cp-"))
        cp = cls(binaries, directory, owns_workdir=workdir is None)
        cp.apiserver_args = tuple(apiserver_args)
        atexit.register(cp.stop)
        try:
            cp._boot(time.monotonic() + timeout)
        except BaseException:
            cp.stop()
            raise
        return cp

    def stop(self) -> None:
        """Stop every component (SIGTERM to its process group, SIGKILL after 10 s); idempotent."""
        for name in reversed(list(self._procs)):
            self._stop_one(self._procs.pop(name))
        if self._owns_workdir and not os.environ.get("KDEPLOY_CONTROL_PLANE_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.stop)

    def pids(self) -> dict[str, int]:
        """PID of each running component."""
        return {name: p.pid for name, p in self._procs.items()}

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- start-up

    def _boot(self, deadline: float) -> None:
        d = self.workdir
        certs = make_certificates(d)
        self.ca_path = str(certs.ca_cert)
        self._ssl = ssl.create_default_context(cafile=self.ca_path)
        self._openssl("genrsa", "-out", "sa.key", "2048")
        self._openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        kcm_token, scheduler_token = secrets.token_hex(16), secrets.token_hex(16)
        (d / "tokens.csv").write_text(
            f'{self.token},kdeploy-admin,uid-admin,"system:masters"\n'
            f"{kcm_token},system:kube-controller-manager,uid-kcm\n"
            f"{scheduler_token},system:kube-scheduler,uid-scheduler\n"
        )
        self._write_kubeconfig(Path(self.kubeconfig_path), self.token, "kdeploy-admin")
        self._write_kubeconfig(d / "kcm.kubeconfig", kcm_token, "system:kube-controller-manager")
        self._write_kubeconfig(d / "scheduler.kubeconfig", scheduler_token, "system:kube-scheduler")

        etcd_port, peer_port = _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn(
            "etcd",
            "--name=default",
            f"--data-dir={d / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        )
        self._wait("etcd", deadline, lambda: self._get(f"{etcd_url}/health", tls=False))
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--tls-cert-file={certs.server_cert}",
            f"--tls-private-key-file={certs.server_key}",
            f"--client-ca-file={certs.ca_cert}",
            f"--cert-dir={d / 'apiserver-certs'}",
            f"--token-auth-file={d / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # the kubernetes Service's endpoints would be 127.0.0.1, which validation refuses
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
            *self.apiserver_args,
        )
        self._wait("kube-apiserver", deadline, lambda: self._get(f"{self.url}/readyz") == "ok")
        self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={d / 'kcm.kubeconfig'}",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={d / 'sa.key'}",
            f"--root-ca-file={certs.ca_cert}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={_free_port()}",
            f"--cert-dir={d / 'kcm-certs'}",
            "--v=1",
        )
        self._spawn(
            "kube-scheduler",
            f"--kubeconfig={d / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={d / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={d / 'scheduler.kubeconfig'}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={_free_port()}",
            f"--cert-dir={d / 'scheduler-certs'}",
            "--v=1",
        )
        self._spawn(
            "kwok",
            f"--kubeconfig={self.kubeconfig_path}",
            f"--config={STAGES_FILE}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{_free_port()}",
            "--node-lease-duration-seconds=40",
            "--cidr=10.244.0.1/16",
        )
        self._request(
            "POST",
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": NODE_NAME,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {
                        "kubernetes.io/hostname": NODE_NAME,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                },
            },
        )
        # StorageClasses whose claims kwok's volume stages provision and bind: the default, and
        # gp3, the AWS class the example environments ask for (kwok-stages.yaml)
        for name, default in (("kwok-volume", True), ("gp3", False)):
            annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
            self._request(
                "POST",
                "/apis/storage.k8s.io/v1/storageclasses",
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass",
                    "metadata": {"name": name, "annotations": annotations},
                    "provisioner": "kwok.x-k8s.io/volume",
                    "reclaimPolicy": "Delete",
                    "volumeBindingMode": "Immediate",
                },
            )
        self._wait(
            "kwok (node Ready)",
            deadline,
            lambda: any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in self._json(f"/api/v1/nodes/{NODE_NAME}")
                .get("status", {})
                .get("conditions", [])
            ),
        )
        self._wait(
            "kube-controller-manager (default service account)",
            deadline,
            lambda: bool(self._json("/api/v1/namespaces/default/serviceaccounts/default")),
        )

    def _openssl(self, *args: str) -> None:
        proc = subprocess.run(["openssl", *args], cwd=self.workdir, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ControlPlaneError(f"openssl {args[0]} failed: {proc.stderr.strip()}")

    def _write_kubeconfig(self, path: Path, token: str, user: str) -> None:
        ca = base64.b64encode(Path(self.ca_path).read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kdeploy-control-plane",
                    "cluster": {"server": self.url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {
                    "name": "kdeploy-control-plane",
                    "context": {"cluster": "kdeploy-control-plane", "user": user},
                }
            ],
            "current-context": "kdeploy-control-plane",
        }
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        with log:
            self._procs[name] = subprocess.Popen(
                [str(self.bin_dir / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # own process group: stop() signals the whole group
                preexec_fn=_die_with_parent,
            )

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with code {proc.returncode} during start-up; "
                    f"last lines of {self.workdir / (name + '.log')}:\n"
                    f"{_tail(self.workdir / f'{name}.log')}"
                )

    def _wait(self, what: str, deadline: float, ready: Callable[[], Any]) -> None:
        last = ""
        while True:
            self._check_alive()
            try:
                if ready():
                    return
            except (OSError, ValueError, urllib.error.URLError) as e:
                last = str(e)
            if time.monotonic() > deadline:
                component = what.split(" ")[0]
                raise ControlPlaneError(
                    f"{what} was not ready in time (last error: {last or 'none'}); last lines of "
                    f"{component}.log:\n{_tail(self.workdir / f'{component}.log')}"
                )
            time.sleep(0.2)

    def _get(self, url: str, tls: bool = True) -> str:
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=5, context=self._ssl if tls else None) as resp:
            return str(resp.read().decode())

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10, context=self._ssl) as resp:
            return json.loads(resp.read() or b"{}")

    def _json(self, path: str) -> dict[str, Any]:
        """GET `path`; {} when it does not exist (yet)."""
        try:
            result = self._request("GET", path)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return {}
            raise
        return result if isinstance(result, dict) else {}

    # ---------------------------------------------------------------- shutdown

    @staticmethod
    def _stop_one(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[ControlPlane]:
    """`with running() as cp:` — the same as `with ControlPlane.start(**kwargs) as cp:`."""
    cp = ControlPlane.start(**kwargs)
    try:
        yield cp
    finally:
        cp.stop()


if __name__ == "__main__":
    # Manual use: start, print the kubeconfig path, wait for Ctrl-C, stop.
    started = time.monotonic()
    with ControlPlane.start() as plane:
        print(f"control plane {plane.version} ready in {time.monotonic() - started:.1f} s")
        print(f"KUBECONFIG={plane.kubeconfig_path}")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
