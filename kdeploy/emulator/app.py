"""The emulator as a running service: HTTP server, simulated controllers, garbage collector and
state file, startable from Python (`with Emulator() as emu:`) and from the CLI."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from kdeploy.emulator import gc
from kdeploy.emulator.api import Api
from kdeploy.emulator.auth import AuthPolicy
from kdeploy.emulator.faults import Faults
from kdeploy.emulator.registry import Registry
from kdeploy.emulator.server import EmulatorHTTPServer
from kdeploy.emulator.store import Store
from kdeploy.emulator.types import ControllerKnobs, FaultRule

CONTEXT = "kdeploy-emulator"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_SAVE_DEBOUNCE = 0.5


class Emulator:
    """An in-memory Kubernetes API server on 127.0.0.1.

    `port=0` picks a free port. `state_file` is loaded at start (if it exists) and saved after
    changes and at stop. `tls=True` serves HTTPS with a certificate made at start and requires
    a bearer token (`token`, written into the kubeconfig); `tokens`/`allow` add more users and
    restrict their verbs (see `AuthPolicy`). `controllers=False` turns the simulated controllers
    off (objects keep the status they are written with). Watches that allow bookmarks get a
    BOOKMARK event every `bookmark_interval` seconds.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        knobs: ControllerKnobs | None = None,
        state_file: str | os.PathLike[str] | None = None,
        tls: bool = False,
        token: str = "kdeploy-emulator-token",
        tokens: dict[str, str] | None = None,
        allow: dict[str, set[str]] | None = None,
        controllers: bool = True,
        interval: float = 0.05,
        kubeconfig_path: str | os.PathLike[str] | None = None,
        history: int = 10000,
        bookmark_interval: float = 60.0,
    ) -> None:
        self.port = port
        self._bookmark_interval = bookmark_interval
        self.knobs = knobs or ControllerKnobs()
        self.state_file = Path(state_file) if state_file else None
        self.tls = tls
        self.token = token
        self._tokens = dict(tokens or {})
        self._allow = dict(allow or {})
        self._controllers_on = controllers
        self._interval = interval
        self._kubeconfig_arg = Path(kubeconfig_path) if kubeconfig_path else None
        self.registry = Registry()
        self.store = Store(self.registry, history=history)
        self.api = Api(self.store, self.registry)
        self.faults = Faults()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: EmulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._dirty = threading.Event()
        self._gc_rv = -1
        self.url = ""
        self.kubeconfig_path = ""
        self.ca_path = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        """Load state, bind the port, write the kubeconfig and start serving; returns self."""
        self._tmp = tempfile.TemporaryDirectory(prefix="kdeploy-emulator-")
        certs = None
        if self.tls:
            from kdeploy.emulator.tls import make_certificates

            certs = make_certificates(Path(self._tmp.name))
            self.ca_path = str(certs.ca_cert)
            self.api.root_ca = certs.ca_cert.read_text()
        if self.state_file and self.state_file.exists():
            self.store.restore(json.loads(self.state_file.read_text()))
        self._bootstrap()
        self.store.add_listener(self._changed)
        auth = None
        if self.tls:
            tokens = {self.token: "admin", **self._tokens}
            auth = AuthPolicy(tokens, self._allow)
        server = EmulatorHTTPServer(
            ("127.0.0.1", self.port),
            self.api,
            self.faults,
            auth=auth,
            bookmark_interval=self._bookmark_interval,
        )
        scheme = "http"
        if certs is not None:
            from kdeploy.emulator.tls import wrap_server

            wrap_server(server, certs)
            scheme = "https"
        self._server = server
        self.port = server.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.kubeconfig_path = str(self._write_kubeconfig())
        serve = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="emulator-http",
            daemon=True,
        )
        loop = threading.Thread(target=self._loop, name="emulator-controllers", daemon=True)
        self._threads = [serve, loop]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open watches and save the state file."""
        if self._server is None:
            return
        self._stop.set()
        self._wake.set()
        self.store.close()
        self._server.shutdown()
        self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._server = None
        self.save_state()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ knobs and figures

    @property
    def kubeconfig(self) -> str:
        """Alias of `kubeconfig_path`."""
        return self.kubeconfig_path

    def add_fault(self, rule: FaultRule) -> None:
        """Activate a fault rule."""
        self.faults.add(rule)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    @property
    def request_count(self) -> int:
        """How many HTTP requests have been received."""
        return self._server.request_count if self._server else 0

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """(method, path with query) of recent requests, oldest first."""
        return list(self._server.request_log) if self._server else []

    @property
    def credential_log(self) -> list[tuple[str, str]]:
        """(method, path with query) of recent requests that carried an Authorization header."""
        return list(self._server.credential_log) if self._server else []

    def settle(self, timeout: float = 10.0) -> None:
        """Run controllers and the garbage collector until nothing changes (or `timeout`)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self._reconcile_once():
                return

    # ------------------------------------------------------------------ internals

    def _bootstrap(self) -> None:
        for name in SYSTEM_NAMESPACES:
            if self.store.get("", "Namespace", "", name) is None:
                rt = self.registry.by_kind("", "Namespace")
                assert rt is not None
                self.api.create(rt, "", {"metadata": {"name": name}}, manager="kube-apiserver")

    def _changed(self) -> None:
        # Called on every stored change (not on no-op or dry-run writes): wake the controllers.
        self._dirty.set()
        self._wake.set()

    def _controller_manager(self) -> Any:
        if not self._controllers_on:
            return None
        from kdeploy.emulator.controllers import ControllerManager

        return ControllerManager(self.store, self.knobs, time.monotonic)

    def _reconcile_once(self) -> bool:
        changed = False
        cm = getattr(self, "_cm", None)
        if cm is not None:
            try:
                changed = bool(cm.reconcile())
            except Exception:  # a controller bug must not kill the emulator
                import traceback

                traceback.print_exc()
        # Collection only has work after a change; skipping idle passes keeps reads fast.
        rv = self.store.resource_version
        if rv != self._gc_rv:
            changed |= gc.collect(self.store, self.api.delete_object)
            self._gc_rv = self.store.resource_version
        return changed

    def _loop(self) -> None:
        self._cm = self._controller_manager()
        last_save = 0.0
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._reconcile_once()
            if self._dirty.is_set() and time.monotonic() - last_save >= _SAVE_DEBOUNCE:
                self.save_state()
                last_save = time.monotonic()

    def save_state(self) -> None:
        """Write the state file atomically (if one is configured)."""
        if self.state_file is None:
            return
        self._dirty.clear()
        data = json.dumps(self.store.snapshot(), separators=(",", ":"))
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(data)
        os.replace(tmp, self.state_file)

    def _write_kubeconfig(self) -> Path:
        cluster: dict[str, Any] = {"server": self.url}
        user: dict[str, Any] = {}
        if self.tls:
            import base64

            cluster["certificate-authority-data"] = base64.b64encode(
                Path(self.ca_path).read_bytes()
            ).decode()
            user["token"] = self.token
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": cluster}],
            "users": [{"name": CONTEXT, "user": user}],
            "contexts": [
                {
                    "name": CONTEXT,
                    "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"},
                }
            ],
            "current-context": CONTEXT,
            "preferences": {},
        }
        assert self._tmp is not None
        path = self._kubeconfig_arg or Path(self._tmp.name) / "kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        os.replace(tmp, path)
        return path
