"""The worked example of docs/migrating-from-helm.md: a podinfo-class Helm chart
(tests/fixtures/helm-podinfo) and its port to a kdeploy package (tests/fixtures/kdeploy-podinfo,
written following that page) render the same objects with the same fields for every value set
in tests/fixtures/podinfo-values, once the documented differences are applied to Helm's output.

Helm's side is the real `helm template` (found through KDEPLOY_HELM, which `make tools` and
`make pytest` provide); kdeploy's side is `kdeploy render`. Without helm the comparison is
skipped, unless KDEPLOY_REQUIRE_REAL_CLUSTER=1, where a missing helm fails."""

from __future__ import annotations

import copy
import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator.cli_clients import helm_binary
from tests.helpers import kd

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHART = FIXTURES / "helm-podinfo"
PROJECT = FIXTURES / "kdeploy-podinfo"
VALUE_SETS = FIXTURES / "podinfo-values"
NAMESPACE = "shop"  # environments/test.yaml of the port
ENVIRONMENT = "test"

# (value set, release): `web` gives the fullname web-podinfo; `podinfo` contains the chart's name,
# so the fullname is the release name alone
CASES = [
    ("defaults", "web"),
    ("defaults", "podinfo"),
    ("hpa-ingress", "web"),
    ("redis", "web"),
    ("overrides", "podinfo"),
]

Key = tuple[str, str, str, str]


def _helm() -> Path:
    binary = helm_binary()
    if binary is None:
        reason = "helm not found: run `make tools` or set KDEPLOY_HELM to a helm v4 binary"
        if os.environ.get("KDEPLOY_REQUIRE_REAL_CLUSTER") == "1":
            pytest.fail(f"{reason} (KDEPLOY_REQUIRE_REAL_CLUSTER=1)")
        pytest.skip(reason)
    return binary


def _run_helm(tmp_path: Path, *args: str) -> str:
    home = tmp_path / "helm-home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    }
    done = subprocess.run(
        [str(_helm()), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, f"helm {' '.join(args)}:\n{done.stderr}"
    return done.stdout


def helm_objects(tmp_path: Path, release: str, value_set: str) -> list[dict[str, Any]]:
    """What `helm template RELEASE CHART -n shop -f VALUES` renders."""
    out = _run_helm(
        tmp_path, "template", release, str(CHART), "-n", NAMESPACE, "-f", str(_values(value_set))
    )
    return [d for d in yaml.safe_load_all(out) if d is not None]


def kdeploy_objects(release: str, value_set: str) -> list[dict[str, Any]]:
    """What `kdeploy render -e test RELEASE -f VALUES` renders from the port."""
    result = kd(PROJECT, "render", "-e", ENVIRONMENT, release, "-f", str(_values(value_set)))
    assert result.code == 0, result.stderr
    assert result.stderr == "", result.stderr  # no unused-value warning: every value is ported
    docs: list[dict[str, Any]] = result.docs()
    return docs


def _values(value_set: str) -> Path:
    return VALUE_SETS / f"{value_set}.yaml"


def as_kdeploy_renders(obj: dict[str, Any], release: str) -> dict[str, Any]:
    """Helm's object with the differences docs/migrating-from-helm.md documents applied: the
    chart's `helm.sh/chart` and `app.kubernetes.io/managed-by: Helm` labels are not ported, and
    kdeploy stamps its own labels and annotations on every object's metadata (not on pod
    templates or selectors)."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    labels = dict(meta.get("labels") or {})
    assert labels.pop("app.kubernetes.io/managed-by", "Helm") == "Helm"
    labels.pop("helm.sh/chart", None)
    labels["app.kubernetes.io/managed-by"] = "kdeploy"
    labels["app.kubernetes.io/instance"] = release
    meta["labels"] = labels
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        "kdeploy.dev/release": release,
        "kdeploy.dev/release-namespace": NAMESPACE,
        "kdeploy.dev/environment": ENVIRONMENT,
    }
    return out


def by_key(objects: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    keyed = {
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
        for o in objects
    }
    assert len(keyed) == len(objects), "two objects with the same kind, namespace and name"
    return keyed


def _dump(obj: Any) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines()


@pytest.mark.helm
@pytest.mark.parametrize(("value_set", "release"), CASES, ids=[f"{v}-{r}" for v, r in CASES])
def test_the_port_renders_what_the_chart_does(tmp_path: Path, value_set: str, release: str) -> None:
    expected = by_key(
        [as_kdeploy_renders(o, release) for o in helm_objects(tmp_path, release, value_set)]
    )
    got = by_key(kdeploy_objects(release, value_set))
    assert sorted(got) == sorted(expected), "the port renders other objects than the chart"
    for key, want in expected.items():
        if got[key] != want:
            diff = "\n".join(
                difflib.unified_diff(
                    _dump(want), _dump(got[key]), "helm (normalised)", "kdeploy", lineterm=""
                )
            )
            pytest.fail(f"{'/'.join(key)} differs:\n{diff}")


def test_the_value_sets_cover_every_template_of_the_chart(tmp_path: Path) -> None:
    """Every template of the chart renders at least one object in some case, so no ported
    template goes unchecked."""
    kinds = set()
    for value_set, release in CASES:
        kinds |= {(o["kind"], o["metadata"]["name"]) for o in kdeploy_objects(release, value_set)}
    assert {kind for kind, _ in kinds} == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Ingress",
        "ServiceAccount",
    }
    assert ("Deployment", "web-podinfo-redis") in kinds
    assert ("Service", "web-podinfo-redis") in kinds
    assert ("ServiceAccount", "podinfo-runner") in kinds
    assert ("Deployment", "my-podinfo") in kinds  # trimSuffix "-" of fullnameOverride


def helm_notes(tmp_path: Path, release: str, value_set: str, namespace: str) -> str:
    """The NOTES `helm install --dry-run=client` prints (it needs no cluster)."""
    out = _run_helm(
        tmp_path,
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "-f",
        str(_values(value_set)),
        "--dry-run=client",
    )
    return out.split("NOTES:\n", 1)[1]


@pytest.mark.helm
@pytest.mark.parametrize(("value_set", "release"), CASES, ids=[f"{v}-{r}" for v, r in CASES])
def test_the_ported_notes_print_what_helm_prints(
    tmp_path: Path, emulator: Any, namespace: str, value_set: str, release: str
) -> None:
    """NOTES.j2, printed by `kdeploy apply`, says what the chart's NOTES.txt says."""
    expected = helm_notes(tmp_path, release, value_set, namespace)
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    env_file = project / "environments" / f"{ENVIRONMENT}.yaml"
    env = yaml.safe_load(env_file.read_text(encoding="utf-8"))
    env["cluster"] = {"kubeconfig": str(emulator.kubeconfig_path)}
    env["namespace"] = namespace
    env_file.write_text(yaml.safe_dump(env), encoding="utf-8")
    result = kd(
        project,
        "apply",
        "-e",
        ENVIRONMENT,
        release,
        "-f",
        str(_values(value_set)),
        "--yes",
        "--timeout",
        "60s",
    )
    assert result.code == 0, result.stderr
    notes = result.stdout.split(f"NOTES for release {release}:\n", 1)[1]
    assert notes.strip() == expected.strip()


DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating-from-helm.md"
WORKED_EXAMPLE = "## Worked example: a podinfo-class chart"


def _worked_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(WORKED_EXAMPLE)
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _lines(root: Path) -> int:
    return sum(
        len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*") if p.is_file()
    )


def test_the_worked_example_states_the_fixtures_line_counts() -> None:
    section = _worked_example()
    package = PROJECT / "packages" / "podinfo"
    chart_total, chart_templates = _lines(CHART), _lines(CHART / "templates")
    package_total, package_templates = _lines(package), _lines(package / "templates")
    assert f"The chart has {chart_total} lines (templates {chart_templates})" in section
    assert f"the package {package_total}\n(templates {package_templates})" in section


def test_every_spelling_in_the_worked_example_is_used_by_the_port() -> None:
    """The right-hand column of the worked example's table is what the package's templates say
    (`...` stands for text left out; a bare file name is a file of the package)."""
    package_text = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((PROJECT / "packages").rglob("*.*"))
    )
    rows = [line for line in _worked_example().splitlines() if line.startswith("| ")][2:]
    assert len(rows) > 20
    for row in rows:
        port_column = row.replace("\\|", "\N{BROKEN BAR}").split("|")[2]
        spans = [s.replace("\N{BROKEN BAR}", "|") for s in re.findall(r"`([^`]+)`", port_column)]
        for span in spans:
            if (PROJECT / "packages" / "podinfo" / "templates" / span).is_file():
                continue  # a file name: `NOTES.j2`
            for piece in span.split("..."):
                assert piece.strip() in package_text, f"{piece.strip()!r} (from {row!r})"
