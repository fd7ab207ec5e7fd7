"""Rendering: filters, context, sandbox, namespaces, ownership stamps, order, and render errors."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from kdeploy.actions.render import render_environment
from kdeploy.errors import RenderError, ValidationError
from kdeploy.model import Package, ReleaseSpec
from kdeploy.render import PackageTemplates, make_bytecode_cache, quote, render_release, toyaml
from kdeploy.yamlio import load_all_fast
from tests.helpers import ProjectBuilder

CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ release.name }}
data:
{{ body }}
"""


def cm(body: str) -> str:
    """A ConfigMap template whose data block is `body` (lines indented by two spaces)."""
    return CM.replace("{{ body }}", body)


def render_one(
    tmp_path: Path,
    templates: dict[str, str],
    values: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    namespace: str = "shop",
) -> list[dict[str, Any]]:
    proj = ProjectBuilder(tmp_path)
    proj.package("app", templates=templates, values=values or {}, files=files)
    proj.environment("dev", {"namespace": namespace, "releases": {"web": {"package": "app"}}})
    (release,) = render_environment(tmp_path, "dev", [], [], [], [])
    return [o.manifest for o in release.objects]


def data_of(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (m,) = manifests
    return dict(m["data"])


def test_context_holds_values_release_and_package(tmp_path: Path) -> None:
    body = (
        "  env: {{ release.environment }}\n"
        "  ns: {{ release.namespace }}\n"
        "  pkg: {{ package.name }}-{{ package.version }}\n"
        "  greeting: {{ values.greeting }}\n"
    )
    data = data_of(render_one(tmp_path, {"cm.yaml": cm(body)}, {"greeting": "hi"}))
    assert data == {"env": "dev", "ns": "shop", "pkg": "app-1.0.0", "greeting": "hi"}


def test_toyaml_indents_the_lines_after_the_first() -> None:
    assert toyaml({"a": 1, "b": [1, 2]}, indent=4) == "a: 1\n    b:\n    - 1\n    - 2"
    assert toyaml({"a": 1, "b": 2}, indent=2, first=True) == "  a: 1\n  b: 2"
    assert toyaml("text") == "text"
    assert toyaml({}) == "{}"


def test_toyaml_block_lines_up_inside_a_template(tmp_path: Path) -> None:
    template = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: nginx:1.27
      resources:
        {{ values.resources | toyaml(indent=8) }}
      args:
        {{ values.args | toyaml(indent=8) }}
"""
    values = {
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m"}},
        "args": ["--a", "--b=multi word"],
    }
    (pod,) = render_one(tmp_path, {"pod.yaml": template}, values)
    container = pod["spec"]["containers"][0]
    assert container["resources"] == values["resources"]
    assert container["args"] == values["args"]


def test_quote_always_yields_a_string(tmp_path: Path) -> None:
    tricky = ["true", "1.10", "a: b", 'say "hi"', "line1\nline2", "back\\slash", "#x", "é ✓", ""]
    body = "".join(f"  k{i}: {{{{ values.v[{i}] | quote }}}}\n" for i in range(len(tricky)))
    body += (
        "  n: {{ values.n | quote }}\n  b: {{ values.b | quote }}\n  z: {{ values.z | quote }}\n"
    )
    data = data_of(
        render_one(tmp_path, {"cm.yaml": cm(body)}, {"v": tricky, "n": 5, "b": True, "z": None})
    )
    assert [data[f"k{i}"] for i in range(len(tricky))] == tricky
    assert (data["n"], data["b"], data["z"]) == ("5", "true", "")


def test_quote_escapes_characters_yaml_forbids() -> None:
    text = "a\x7fb\u2028c\x85"
    assert load_all_fast("k: " + quote(text)) == [{"k": text}]


def test_tojson_b64_and_sha256_filters(tmp_path: Path) -> None:
    body = (
        "  json: {{ values.obj | tojson | quote }}\n"
        "  inline: {{ values.obj | tojson }}\n"
        "  b64: {{ 'hello' | b64encode }}\n"
        "  plain: {{ 'aGVsbG8=' | b64decode }}\n"
        "  sum: {{ 'hello' | sha256 }}\n"
        "  objsum: {{ values.obj | sha256 }}\n"
    )
    data = data_of(
        render_one(tmp_path, {"cm.yaml": cm(body)}, {"obj": {"b": 1, "a": [True, None]}})
    )
    assert data["json"] == '{"b": 1, "a": [true, null]}'
    assert data["inline"] == {"b": 1, "a": [True, None]}
    assert data["b64"] == base64.b64encode(b"hello").decode()
    assert data["plain"] == "hello"
    assert data["sum"] == hashlib.sha256(b"hello").hexdigest()
    assert data["objsum"] == hashlib.sha256(b'{"a":[true,null],"b":1}').hexdigest()


def test_required_passes_a_value_through_and_fails_with_the_message(tmp_path: Path) -> None:
    body = "  host: {{ values.host | required('set values.host to the public host name') }}\n"
    assert data_of(render_one(tmp_path / "ok", {"cm.yaml": cm(body)}, {"host": "x.io"})) == {
        "host": "x.io"
    }
    with pytest.raises(RenderError) as info:
        render_one(tmp_path / "missing", {"cm.yaml": cm(body)}, {})
    message = info.value.format_message()
    assert "packages/app/templates/cm.yaml:6:" in message
    assert "set values.host to the public host name" in message


def test_files_get_reads_package_files(tmp_path: Path) -> None:
    body = "  conf: {{ files.get('app.conf') | quote }}\n  has: {{ files.exists('nope') }}\n"
    data = data_of(render_one(tmp_path, {"cm.yaml": cm(body)}, files={"app.conf": "a=1\nb=2\n"}))
    assert data == {"conf": "a=1\nb=2\n", "has": False}


@pytest.mark.parametrize(
    "path", ["../package.yaml", "../../../etc/passwd", "/etc/passwd", "sub/../../values.yaml"]
)
def test_files_get_outside_the_package_files_is_an_error(tmp_path: Path, path: str) -> None:
    body = f"  x: {{{{ files.get('{path}') | quote }}}}\n"
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"cm.yaml": cm(body)}, files={"ok.txt": "ok"})
    message = info.value.format_message()
    assert "packages/app/templates/cm.yaml:6:" in message
    assert "escapes the package's files/ directory" in message


def test_files_get_of_a_symlink_leaving_the_package_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    proj_dir = tmp_path / "proj"
    body = "  x: {{ files.get('link') | quote }}\n"
    ProjectBuilder(proj_dir).package(
        "app", templates={"cm.yaml": cm(body)}, values={}, files={"ok": ""}
    )
    (proj_dir / "packages/app/files/link").symlink_to(secret)
    ProjectBuilder(proj_dir).environment("dev", {"releases": {"web": {"package": "app"}}})
    with pytest.raises(RenderError, match="escapes the package's files/ directory"):
        render_environment(proj_dir, "dev", [], [], [], [])


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "values.__class__",
        "cycler.__init__.__globals__",
        "files._root",
    ],
)
def test_the_sandbox_blocks_access_to_python_internals(tmp_path: Path, expression: str) -> None:
    body = f"  x: {{{{ {expression} }}}}\n"
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"cm.yaml": cm(body)}, {})
    message = info.value.format_message()
    assert "packages/app/templates/cm.yaml:6" in message
    assert "sandbox" in message or "undefined" in message


def test_templates_cannot_modify_values(tmp_path: Path) -> None:
    body = "  x: {{ values.list.append(3) }}\n"
    with pytest.raises(RenderError, match="sandbox"):
        render_one(tmp_path, {"cm.yaml": cm(body)}, {"list": [1]})


def test_undefined_value_names_template_line_and_name(tmp_path: Path) -> None:
    template = cm("  a: {{ values.image.repository }}\n  b: {{ values.image.tag }}\n")
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"deploy.yaml": template}, {"image": {"repository": "web"}})
    message = info.value.format_message()
    assert message.startswith(
        "packages/app/templates/deploy.yaml:7: undefined value values.image.tag"
    )
    assert "b: {{ values.image.tag }}" in message


def test_undefined_top_level_name(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"cm.yaml:6: undefined value nothere"):
        render_one(tmp_path, {"cm.yaml": cm("  a: {{ nothere }}\n")}, {})


def test_defined_tests_and_default_work_for_missing_nested_values(tmp_path: Path) -> None:
    body = (
        "  a: {{ values.missing.deep | default('fallback') }}\n"
        "  b: {{ values.missing.deep is defined }}\n"
    )
    assert data_of(render_one(tmp_path, {"cm.yaml": cm(body)}, {})) == {"a": "fallback", "b": False}


def test_undefined_value_inside_a_helper_names_the_helper_line(tmp_path: Path) -> None:
    helpers = "{% macro labels(values) -%}\nteam: {{ values.team }}\n{%- endmacro %}\n"
    template = '{% import "_helpers.j2" as h %}\n' + cm("  {{ h.labels(values) | indent(2) }}\n")
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"cm.yaml": template, "_helpers.j2": helpers}, {})
    message = info.value.format_message()
    assert "packages/app/templates/_helpers.j2:2: undefined value values.team" in message
    assert "while rendering packages/app/templates/cm.yaml" in message


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    template = cm("{% if values.x %}\n  a: 1\n")
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"cm.yaml": template}, {"x": True})
    message = info.value.format_message()
    assert message.startswith("packages/app/templates/cm.yaml:")
    assert "template syntax error" in message


def test_helpers_are_macro_libraries_never_rendered(tmp_path: Path) -> None:
    helpers = "{% macro name(r) %}{{ r.name }}-x{% endmacro %}\nnot: [valid yaml\n"
    template = '{% import "_helpers.j2" as h %}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ h.name(release) }}\n'
    (m,) = render_one(
        tmp_path, {"cm.yaml": template, "_helpers.j2": helpers, "_more.yaml": "x: ["}, {}
    )
    assert m["metadata"]["name"] == "web-x"


def test_invalid_rendered_yaml_names_template_and_shows_the_lines(tmp_path: Path) -> None:
    template = cm("  a: {{ values.text }}\n")
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"cm.yaml": template}, {"text": "x: y"})
    message = info.value.format_message()
    assert (
        "packages/app/templates/cm.yaml: the rendered output is not valid YAML at rendered line 6"
        in message
    )
    assert ">" in message and "6 |   a: x: y" in message


def test_documents_must_have_apiversion_kind_and_name(tmp_path: Path) -> None:
    template = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\nkind: Secret\nmetadata: {}\n"
    )
    with pytest.raises(RenderError) as info:
        render_one(tmp_path, {"both.yaml": template}, {})
    message = info.value.format_message()
    assert "both.yaml: document 2 (Secret)" in message
    assert "apiVersion is missing" in message and "metadata.name is missing" in message


def test_a_list_document_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"document 1 .* is a list"):
        render_one(tmp_path, {"l.yaml": "- a\n- b\n"}, {})


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    template = (
        "---\n{% if false %}\nkind: X\n{% endif %}\n---\n"
        + cm("  a: '1'\n")
        + "---\n# only a comment\n"
    )
    assert len(render_one(tmp_path, {"cm.yaml": template}, {})) == 1


def test_namespaces_defaults_and_cluster_scope(tmp_path: Path) -> None:
    templates = {
        "objs.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: defaulted
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: explicit
  namespace: other
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
  namespace: ignored
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets}
  versions: []
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
---
apiVersion: other.io/v1
kind: Gadget
metadata:
  name: g
"""
    }
    objs = {m["metadata"]["name"]: m["metadata"] for m in render_one(tmp_path, templates, {})}
    assert objs["defaulted"]["namespace"] == "shop"
    assert list(objs["defaulted"])[:2] == ["name", "namespace"]
    assert objs["explicit"]["namespace"] == "other"
    assert "namespace" not in objs["reader"]
    assert "namespace" not in objs["widgets.example.com"]
    assert "namespace" not in objs["w"]  # its CRD in the same render says Cluster
    assert objs["g"]["namespace"] == "shop"  # unknown kinds are taken as namespaced


def test_ownership_labels_and_annotations_on_object_metadata_only(tmp_path: Path) -> None:
    template = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {team: a}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: c, image: "nginx:1.27"}]
"""
    (d,) = render_one(tmp_path, {"d.yaml": template}, {})
    assert d["metadata"]["labels"] == {
        "team": "a",
        "app.kubernetes.io/managed-by": "kdeploy",
        "app.kubernetes.io/instance": "web",
    }
    assert d["metadata"]["annotations"] == {
        "kdeploy.dev/release": "web",
        "kdeploy.dev/release-namespace": d["metadata"]["namespace"],
        "kdeploy.dev/environment": "dev",
    }
    assert d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert d["spec"]["template"]["metadata"] == {"labels": {"app": "web"}}


def test_objects_come_in_install_order_then_by_name(tmp_path: Path) -> None:
    def obj(api: str, kind: str, name: str) -> str:
        return f"---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n"

    template = "".join(
        [
            obj("networking.k8s.io/v1", "Ingress", "web"),
            obj("apps/v1", "Deployment", "web"),
            obj("v1", "Service", "web"),
            obj("v1", "Secret", "b"),
            obj("v1", "ConfigMap", "z"),
            obj("v1", "ConfigMap", "a"),
            obj("v1", "ServiceAccount", "web"),
            obj("v1", "Namespace", "shop"),
            obj("batch/v1", "CronJob", "cron"),
            obj("autoscaling/v2", "HorizontalPodAutoscaler", "web"),
            obj("v1", "PersistentVolumeClaim", "data"),
            obj("rbac.authorization.k8s.io/v1", "Role", "r"),
            obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.com"),
        ]
    )
    order = [
        (m["kind"], m["metadata"]["name"]) for m in render_one(tmp_path, {"all.yaml": template}, {})
    ]
    assert order == [
        ("Namespace", "shop"),
        ("CustomResourceDefinition", "x.example.com"),
        ("ServiceAccount", "web"),
        ("Role", "r"),
        ("ConfigMap", "a"),
        ("ConfigMap", "z"),
        ("Secret", "b"),
        ("PersistentVolumeClaim", "data"),
        ("Service", "web"),
        ("Deployment", "web"),
        ("CronJob", "cron"),
        ("HorizontalPodAutoscaler", "web"),
        ("Ingress", "web"),
    ]


def test_render_release_directly_with_a_shared_template_set(tmp_path: Path) -> None:
    pkg_dir = ProjectBuilder(tmp_path).package("app")
    package = Package(name="app", version="1.0.0", path=pkg_dir)
    tset = PackageTemplates(package)
    for name in ("a", "b"):
        spec = ReleaseSpec(name=name, package="app", namespace="ns", environment="dev")
        rel = render_release(package, spec, {"greeting": name}, templates=tset)
        (obj,) = rel.objects
        assert obj.manifest["data"] == {"greeting": name}
        assert obj.release == name
        assert obj.source == "packages/app/templates/configmap.yaml"


def test_duplicate_objects_across_releases_name_both_sources(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    fixed = cm("  a: '1'\n").replace("{{ release.name }}", "shared")
    proj.package("one", templates={"cm.yaml": fixed}, values={})
    proj.package("two", templates={"other.yaml": fixed}, values={})
    proj.environment(
        "dev", {"namespace": "ns", "releases": {"a": {"package": "one"}, "b": {"package": "two"}}}
    )
    with pytest.raises(ValidationError) as info:
        render_environment(tmp_path, "dev", [], [], [], [])
    message = info.value.format_message()
    assert "ConfigMap ns/shared is declared twice" in message
    assert "release a (packages/one/templates/cm.yaml)" in message
    assert "release b (packages/two/templates/other.yaml)" in message


def test_same_name_in_different_namespaces_is_not_a_duplicate(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    fixed = cm("  a: '1'\n").replace("{{ release.name }}", "shared")
    proj.package("one", templates={"cm.yaml": fixed}, values={})
    proj.environment(
        "dev",
        {
            "releases": {
                "a": {"package": "one", "namespace": "x"},
                "b": {"package": "one", "namespace": "y"},
            }
        },
    )
    assert len(render_environment(tmp_path, "dev", [], [], [], [])) == 2


def test_schema_violations_are_all_reported_with_value_paths(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    schema = {
        "type": "object",
        "required": ["image"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "ports": {
                "type": "array",
                "items": {"type": "object", "properties": {"port": {"type": "integer"}}},
            },
            "image": {"type": "object"},
        },
    }
    proj.package(
        "app", values={"greeting": "x", "replicas": -1, "ports": [{"port": "http"}]}, schema=schema
    )
    proj.environment("dev", {"releases": {"web": {"package": "app"}}})
    with pytest.raises(ValidationError) as info:
        render_environment(tmp_path, "dev", [], [], [], [])
    message = info.value.format_message()
    assert "release web: values do not match packages/app/values.schema.yaml" in message
    assert "replicas: -1 is less than the minimum of 1" in message
    assert "ports[0].port: 'http' is not of type 'integer'" in message
    assert "(root): 'image' is a required property" in message
    # lint reports them itself
    assert render_environment(tmp_path, "dev", [], [], [], [], validate_values=False)


def test_an_invalid_schema_names_the_schema_file(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    proj.package("app", schema={"type": "object", "properties": {"replicas": {"type": "integr"}}})
    proj.environment("dev", {"releases": {"web": {"package": "app"}}})
    with pytest.raises(
        ValidationError, match=r"packages/app/values.schema.yaml: not a valid JSON Schema"
    ):
        render_environment(tmp_path, "dev", [], [], [], [])


def test_values_precedence_from_defaults_to_set_string(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    keys = ["defaults", "envval", "relfile", "relval", "cli1", "cli2", "set", "setstr"]
    body = "".join(f"  {k}: {{{{ values.{k} | quote }}}}\n" for k in keys)
    proj.package("app", templates={"cm.yaml": cm(body)}, values={k: "defaults" for k in keys})
    proj.environment(
        "dev",
        {
            "values": {k: "envval" for k in keys[1:]},
            "releases": {
                "web": {
                    "package": "app",
                    "valuesFiles": ["web.yaml"],
                    "values": {k: "relval" for k in keys[3:]},
                }
            },
        },
    )
    proj.write("environments/web.yaml", {k: "relfile" for k in keys[2:]})
    proj.write("cli1.yaml", {k: "cli1" for k in keys[4:]})
    proj.write("cli2.yaml", {k: "cli2" for k in keys[5:]})
    (rel,) = render_environment(
        tmp_path,
        "dev",
        [],
        [Path("cli1.yaml"), tmp_path / "cli2.yaml"],
        ["set=set", "setstr=set"],
        ["setstr=setstr"],
    )
    assert rel.objects[0].manifest["data"] == {k: k for k in keys}
    assert rel.values["set"] == "set"


def test_bytecode_cache_is_skipped_when_the_directory_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert make_bytecode_cache(blocker / "sub") is None
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert make_bytecode_cache(shared) is None
    assert make_bytecode_cache(None) is None
    private = make_bytecode_cache(tmp_path / "cache")
    assert private is not None
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_rendering_fills_and_then_uses_the_bytecode_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    proj_dir = tmp_path / "proj"
    ProjectBuilder(proj_dir).package("app")
    ProjectBuilder(proj_dir).environment("dev", {"releases": {"web": {"package": "app"}}})
    first = render_environment(proj_dir, "dev", [], [], [], [])
    assert list((tmp_path / "cache").glob("kdeploy-*.cache"))
    second = render_environment(proj_dir, "dev", [], [], [], [])
    assert [o.manifest for o in first[0].objects] == [o.manifest for o in second[0].objects]


def test_a_null_value_renders_as_yaml_null_not_none(tmp_path: Path) -> None:
    body = "  a: {{ values.nothing }}\n  b: x{{ values.nothing }}y\n  c: {{ values.flag }}\n"
    (m,) = render_one(tmp_path, {"cm.yaml": cm(body)}, {"nothing": None, "flag": True})
    assert m["data"] == {"a": None, "b": "xy", "c": True}


def test_a_crd_rendered_by_another_release_scopes_its_resources(tmp_path: Path) -> None:
    proj = ProjectBuilder(tmp_path)
    crd = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: issuers.example.com
spec:
  group: example.com
  scope: Cluster
  names: {kind: Issuer, plural: issuers}
  versions: []
"""
    issuer = "apiVersion: example.com/v1\nkind: Issuer\nmetadata:\n  name: letsencrypt\n"
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    proj.package("crds", templates={"crd.yaml": crd}, values={})
    proj.package("app", templates={"issuer.yaml": issuer, "widget.yaml": widget}, values={})
    proj.environment(
        "dev",
        {"namespace": "shop", "releases": {"crds": {"package": "crds"}, "app": {"package": "app"}}},
    )
    _, app = render_environment(tmp_path, "dev", [], [], [], [])
    metas = {o.manifest["kind"]: o.manifest["metadata"] for o in app.objects}
    assert "namespace" not in metas["Issuer"]
    assert metas["Widget"]["namespace"] == "shop"


def test_a_template_symlink_leaving_the_package_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "kubeconfig"
    secret.write_text("token: s3cr3t\n")
    proj_dir = tmp_path / "proj"
    template = '{% include "_creds.j2" %}\n'
    ProjectBuilder(proj_dir).package("app", templates={"cm.yaml": template}, values={})
    (proj_dir / "packages/app/templates/_creds.j2").symlink_to(secret)
    ProjectBuilder(proj_dir).environment("dev", {"releases": {"web": {"package": "app"}}})
    with pytest.raises(RenderError) as info:
        render_environment(proj_dir, "dev", [], [], [], [])
    message = info.value.format_message()
    assert "'_creds.j2' resolves outside the package directory" in message
    assert "s3cr3t" not in message


def test_b64encode_and_sha256_of_null_and_booleans() -> None:
    from kdeploy.render import b64encode, sha256

    assert b64encode(None) == ""
    assert b64encode(True) == base64.b64encode(b"true").decode()
    assert b64encode(b"\x00\xff") == "AP8="
    assert sha256(None) == hashlib.sha256(b"").hexdigest()
