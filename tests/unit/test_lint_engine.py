"""The lint engine: all rules together, disabling per package and per object, ordering."""

from __future__ import annotations

from lint_helpers import container, deployment, release

from kdeploy.lint.engine import ALL_RULES, lint_releases

BAD = container(image="nginx", securityContext=None)


def rules_found(*releases: object) -> list[tuple[str, str]]:
    result = lint_releases(list(releases), None)  # type: ignore[arg-type]
    return [(f.rule, f.obj) for f in result.findings]


def test_rule_ids_are_unique_kebab_case() -> None:
    ids = [r.id for r in ALL_RULES]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i and "_" not in i for i in ids)
    assert set(ids) >= {
        "run-as-non-root",
        "resources-set",
        "requests-within-limits",
        "probes-set",
        "image-pinned",
        "pdb-for-replicas",
        "hpa-target-exists",
        "manifest-schema",
        "values-schema",
    }


def test_good_release_has_no_findings_and_records_checks() -> None:
    result = lint_releases([release(deployment())], None)
    assert result.findings == ()
    assert not result.has_errors
    checked = {c.rule for c in result.checks}
    assert "image-pinned" in checked and "hpa-target-exists" not in checked


def test_findings_are_sorted_errors_first() -> None:
    result = lint_releases([release(deployment(containers=[BAD], replicas=2))], None)
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert {f.rule for f in result.findings} == {
        "image-pinned",
        "run-as-non-root",
        "pdb-for-replicas",
    }
    assert result.has_errors


def test_package_lint_disable_switches_rules_off_for_the_release() -> None:
    rel = release(deployment(containers=[BAD]), lint_disable=("image-pinned",))
    assert rules_found(rel) == [("run-as-non-root", "Deployment shop/web")]


def test_annotation_switches_rules_off_for_one_object_only() -> None:
    quiet = deployment(
        "quiet",
        containers=[BAD],
        annotations={"kdeploy.dev/lint-disable": "image-pinned, run-as-non-root"},
    )
    loud = deployment("loud", containers=[BAD])
    assert rules_found(release(quiet, loud)) == [
        ("image-pinned", "Deployment shop/loud"),
        ("run-as-non-root", "Deployment shop/loud"),
    ]
    result = lint_releases([release(quiet)], None)
    assert not [c for c in result.checks if c.rule == "image-pinned"]


def test_unknown_rule_in_disable_list_is_a_warning() -> None:
    rel = release(deployment(), lint_disable=("image-pined",))
    result = lint_releases([rel], None)
    (f,) = result.findings
    assert (f.rule, f.severity) == ("lint-config", "warning")
    assert 'unknown lint rule "image-pined" in lint.disable' in f.message
    assert f.source == "packages/webapp/package.yaml"


def test_values_schema_can_be_disabled_per_package() -> None:
    schema = {"type": "object", "properties": {"replicas": {"type": "integer"}}}
    bad = release(deployment(), schema=schema, values={"replicas": "x"})
    assert rules_found(bad) == [("values-schema", "values")]
    off = release(
        deployment(), schema=schema, values={"replicas": "x"}, lint_disable=("values-schema",)
    )
    assert rules_found(off) == []
