"""Emulator throughput benchmark: requests per second for GET, LIST and server-side apply.

Starts an in-process emulator (controllers on, as in tests), fills a namespace with ConfigMaps and
Deployments, then times sequential requests over one keep-alive connection with raw urllib3 (the
server's own cost) and with the official `kubernetes` client (what kdeploy and the tests see), and
concurrent GETs from 8 threads. Writes the table to docs/performance.md between this benchmark's
markers. Figures, not assertions: nothing here fails on a slow machine.

Run: `.venv/bin/python benchmarks/emulator.py [--requests 1000] [--objects 100]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PERF_DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN emulator-benchmark -->"
END = "<!-- END emulator-benchmark -->"
NS = "bench"


def deployment(i: int, image: str) -> dict[str, object]:
    labels = {"app": f"d{i}"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"d{i}", "namespace": NS, "labels": {"bench": "yes"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"containerPort": 80}],
                            "env": [{"name": "MODE", "value": "bench"}],
                        }
                    ]
                },
            },
        },
    }


def rate(n: int, fn: Callable[[int], object], runs: int = 3) -> float:
    """Median requests per second over `runs` runs of `n` calls."""
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def concurrent_rate(n: int, threads: int, fn: Callable[[int], object]) -> float:
    """Requests per second of `threads` threads sharing `n` calls."""
    per = n // threads

    def work() -> None:
        for i in range(per):
            fn(i)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return per * threads / (time.perf_counter() - start)


def measure(requests: int, objects: int) -> list[tuple[str, float, float | None]]:
    import urllib3
    from kubernetes import client, config, dynamic

    from kdeploy.emulator.app import Emulator

    rows: list[tuple[str, float, float | None]] = []
    with Emulator() as emu:
        api = config.new_client_from_config(emu.kubeconfig_path)
        core, dc = client.CoreV1Api(api), dynamic.DynamicClient(api)
        deploys = dc.resources.get(api_version="apps/v1", kind="Deployment")
        core.create_namespace({"metadata": {"name": NS}})
        for i in range(objects):
            core.create_namespaced_config_map(
                NS,
                {
                    "metadata": {"name": f"c{i}", "labels": {"i": str(i % 10)}},
                    "data": {"k": "v" * 200},
                },
            )
        for i in range(20):
            deploys.server_side_apply(body=deployment(i, "nginx:1.27"), field_manager="bench")
        emu.settle()
        pool = urllib3.PoolManager(maxsize=16)
        url = emu.url
        apply_headers = {"Content-Type": "application/apply-patch+yaml"}

        def raw_get(i: int) -> object:
            return pool.request("GET", f"{url}/api/v1/namespaces/{NS}/configmaps/c{i % objects}")

        def raw_list(i: int) -> object:
            return pool.request("GET", f"{url}/api/v1/namespaces/{NS}/configmaps")

        def raw_list_selected(i: int) -> object:
            return pool.request(
                "GET", f"{url}/api/v1/namespaces/{NS}/configmaps?labelSelector=i%3D{i % 10}"
            )

        def raw_ssa_same(i: int) -> object:
            body = json.dumps(deployment(i % 20, "nginx:1.27"))
            return pool.request(
                "PATCH",
                f"{url}/apis/apps/v1/namespaces/{NS}/deployments/d{i % 20}?fieldManager=bench",
                body=body,
                headers=apply_headers,
            )

        def raw_ssa_dry_change(i: int) -> object:
            body = json.dumps(deployment(i % 20, f"nginx:1.{i % 7}"))
            return pool.request(
                "PATCH",
                f"{url}/apis/apps/v1/namespaces/{NS}/deployments/d{i % 20}"
                "?fieldManager=bench&dryRun=All",
                body=body,
                headers=apply_headers,
            )

        def py_get(i: int) -> object:
            return core.read_namespaced_config_map(f"c{i % objects}", NS)

        def py_list(i: int) -> object:
            return core.list_namespaced_config_map(NS)

        def py_ssa_same(i: int) -> object:
            return deploys.server_side_apply(
                body=deployment(i % 20, "nginx:1.27"), field_manager="bench"
            )

        few = max(requests // 5, 50)
        rows.append(("GET one ConfigMap", rate(requests, raw_get), rate(requests, py_get)))
        rows.append((f"LIST {objects} ConfigMaps", rate(few, raw_list), rate(few, py_list)))
        rows.append(
            (
                f"LIST with labelSelector ({objects // 10} match)",
                rate(requests, raw_list_selected),
                None,
            )
        )
        rows.append(
            (
                "server-side apply, unchanged Deployment",
                rate(few, raw_ssa_same),
                rate(few, py_ssa_same),
            )
        )
        rows.append(
            ("server-side apply dry run, changed Deployment", rate(few, raw_ssa_dry_change), None)
        )
        rows.append(("GET one ConfigMap, 8 threads", concurrent_rate(requests, 8, raw_get), None))
    return rows


def section(rows: list[tuple[str, float, float | None]], objects: int) -> str:
    lines = [
        BEGIN,
        "## Emulator throughput",
        "",
        f"`benchmarks/emulator.py` on {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; one in-process emulator with its "
        f"controllers running, {objects} ConfigMaps and 20 Deployments (with their pods) stored. "
        "Sequential requests over one keep-alive connection (median of 3 runs); *raw* is urllib3 "
        "(the server's own cost), *client* the official `kubernetes` Python client.",
        "",
        "| request | raw req/s | client req/s |",
        "|---|---:|---:|",
    ]
    for name, raw, py in rows:
        lines.append(f"| {name} | {raw:,.0f} | {'' if py is None else f'{py:,.0f}'} |")
    lines += ["", END]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    doc = PERF_DOC.read_text() if PERF_DOC.exists() else "# Performance\n\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + text + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    PERF_DOC.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows = measure(args.requests, args.objects)
    text = section(rows, args.objects)
    print(text)
    if not args.no_write:
        write_doc(text)
        print(f"wrote {PERF_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
