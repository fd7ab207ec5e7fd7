"""Run every lint rule over rendered releases and apply the package and object disable settings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from kdeploy.lint import (
    availability,
    images,
    probes,
    resources_rules,
    schema,
    security,
    values_schema,
    values_unused,
)
from kdeploy.lint import kube_version as kubever
from kdeploy.lint.findings import (
    DISABLE_ANNOTATION,
    Check,
    Finding,
    Rule,
    object_label,
    sort_findings,
)
from kdeploy.model import RenderedObject, RenderedRelease

# Families checked object by object over all rendered objects.
_OBJECT_FAMILIES = (security, resources_rules, probes, images, availability)

ALL_RULES: tuple[Rule, ...] = (
    *values_schema.RULES,
    *values_unused.RULES,
    *kubever.RULES,
    *schema.RULES,
    *security.RULES,
    *resources_rules.RULES,
    *probes.RULES,
    *images.RULES,
    *availability.RULES,
)
RULES_BY_ID = {rule.id: rule for rule in ALL_RULES}
UNKNOWN_RULE_ID = "lint-config"


@dataclass(frozen=True)
class LintResult:
    """Findings in display order, every (rule, object) pair checked, and the version used."""

    findings: tuple[Finding, ...]
    checks: tuple[Check, ...]
    kube_version: str

    @property
    def has_errors(self) -> bool:
        return any(f.is_error for f in self.findings)


def lint_releases(releases: Sequence[RenderedRelease], kube_version: str | None) -> LintResult:
    """Lint rendered releases against Kubernetes `kube_version` ("X.Y"; None: newest bundled).

    Returns every finding that is not disabled, sorted. Raises KdeployError when the version is
    not supported. Reads only the bundled Kubernetes schemas.
    """
    version = schema.resolve_version(kube_version)
    objects = [obj for release in releases for obj in release.objects]
    catalog = schema.SchemaCatalog(version)
    catalog.add_crds(objects)
    disabled = _disabled_by_object(releases)

    raw: list[Finding] = []
    for release in releases:
        raw.extend(values_schema.check(release))
        raw.extend(values_unused.check(release))
        raw.extend(kubever.check(release, version))
        raw.extend(_unknown_disables(release))
    for obj in objects:
        raw.extend(catalog.check(obj))
    for family in _OBJECT_FAMILIES:
        raw.extend(family.check(objects))

    kept = [f for f in raw if f.rule not in disabled.get((f.release, f.obj), frozenset())]
    kept = list(_redacted(kept, releases))
    return LintResult(
        findings=tuple(sort_findings(kept)),
        checks=tuple(_checks(releases, disabled)),
        kube_version=version,
    )


def _redacted(
    findings: Iterable[Finding], releases: Sequence[RenderedRelease]
) -> Iterator[Finding]:
    """`findings` with each release's secret strings replaced in their messages: schema errors
    quote the offending value, and a report is printed and stored by CI."""
    from kdeploy.secrets import Redactor, release_secret_strings

    redactors = {
        release.spec.name: Redactor(release_secret_strings(release)) for release in releases
    }
    for finding in findings:
        redactor = redactors.get(finding.release)
        if redactor:
            finding = replace(finding, message=redactor.text(finding.message))
        yield finding


def disabled_rules(release: RenderedRelease, obj: RenderedObject | None) -> frozenset[str]:
    """The rule ids switched off for `obj` (None: the release's values): the package's
    `lint.disable` plus the object's `kdeploy.dev/lint-disable` annotation."""
    rules = set(release.package.lint_disable)
    if obj is not None:
        rules.update(_annotation_rules(obj))
    return frozenset(rules)


def _annotation_rules(obj: RenderedObject) -> list[str]:
    annotations = (obj.manifest.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(DISABLE_ANNOTATION, "") if isinstance(annotations, dict) else ""
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def _disabled_by_object(
    releases: Iterable[RenderedRelease],
) -> dict[tuple[str, str], frozenset[str]]:
    out: dict[tuple[str, str], frozenset[str]] = {}
    for release in releases:
        out[release.spec.name, values_schema.VALUES_OBJECT] = disabled_rules(release, None)
        out[release.spec.name, kubever.PACKAGE_OBJECT] = disabled_rules(release, None)
        for obj in release.objects:
            out[obj.release, object_label(obj)] = disabled_rules(release, obj)
    return out


def _unknown_disables(release: RenderedRelease) -> Iterator[Finding]:
    """A misspelt rule id in a disable list would silently disable nothing: report it."""
    package_file = f"packages/{release.package.path.name}/package.yaml"
    for rule_id in release.package.lint_disable:
        if rule_id not in RULES_BY_ID:
            yield _unknown_rule(rule_id, "lint.disable", "package", package_file, release.spec.name)
    for obj in release.objects:
        for rule_id in _annotation_rules(obj):
            if rule_id not in RULES_BY_ID:
                yield _unknown_rule(
                    rule_id, DISABLE_ANNOTATION, object_label(obj), obj.source, obj.release
                )


def _unknown_rule(rule_id: str, setting: str, obj: str, source: str, release: str) -> Finding:
    return Finding(
        rule=UNKNOWN_RULE_ID,
        severity="warning",
        message=f'unknown lint rule "{rule_id}" in {setting}; known rules: '
        + ", ".join(sorted(RULES_BY_ID)),
        obj=obj,
        source=source,
        release=release,
    )


def _checks(
    releases: Sequence[RenderedRelease], disabled: dict[tuple[str, str], frozenset[str]]
) -> Iterator[Check]:
    for release in releases:
        name = release.spec.name
        off = disabled[name, values_schema.VALUES_OBJECT]
        if release.package.schema and values_schema.VALUES_SCHEMA.id not in off:
            yield Check(name, values_schema.VALUES_SCHEMA.id, values_schema.VALUES_OBJECT, "")
        if values_unused.VALUES_UNUSED.id not in off:
            yield Check(name, values_unused.VALUES_UNUSED.id, values_schema.VALUES_OBJECT, "")
        off = disabled[name, kubever.PACKAGE_OBJECT]
        if release.package.kube_version and kubever.KUBE_VERSION.id not in off:
            package_file = f"packages/{release.package.path.name}/package.yaml"
            yield Check(name, kubever.KUBE_VERSION.id, kubever.PACKAGE_OBJECT, package_file)
        for obj in release.objects:
            key, kind = object_label(obj), str(obj.manifest.get("kind", ""))
            off = disabled[obj.release, key]
            for rule in ALL_RULES:
                if rule.kinds == frozenset() or not rule.applies_to(kind) or rule.id in off:
                    continue
                yield Check(obj.release, rule.id, key, obj.source)
