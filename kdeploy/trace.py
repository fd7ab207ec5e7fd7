"""Traceability stamped on what kdeploy deploys (pure): the container images a revision runs, the
user's `--annotate KEY=VALUE` annotations, and GitLab's deployment annotations
(`app.gitlab.com/env`, `app.gitlab.com/app`) from the CI variables.

`--annotate` annotations go on each object's own metadata only, never on pod templates: a value
that changes with every pipeline (a pipeline URL) would otherwise restart every pod on every
deploy. GitLab's two annotations are stable per environment and project, and GitLab reads them
from the pods too (deploy boards), so they also go on pod templates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from kdeploy.model import Manifest

GITLAB_ENV_ANNOTATION = "app.gitlab.com/env"
GITLAB_APP_ANNOTATION = "app.gitlab.com/app"
# kdeploy's own stamps (ownership, hooks): never set by --annotate
RESERVED_PREFIX = "kdeploy.dev/"
# kinds whose pod template may change in place; a Job's template is immutable, so an annotation
# added to it would make every later apply of an existing Job fail
MUTABLE_TEMPLATES = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob"})

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*"
_KEY = re.compile(rf"^({_PREFIX}/)?{_NAME}$")


class AnnotationError(ValueError):
    """A --annotate argument that is not KEY=VALUE with a valid annotation key."""


def parse_annotations(given: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` arguments as a dict, in order (a later KEY wins). Raises AnnotationError
    naming the argument when it has no `=`, its key is not a valid annotation key
    (`[prefix/]name`), or it would set one of kdeploy's own `kdeploy.dev/` annotations."""
    out: dict[str, str] = {}
    for arg in given:
        key, sep, value = arg.partition("=")
        if not sep:
            raise AnnotationError(f"{arg!r} is not KEY=VALUE")
        if not _KEY.match(key) or len(key.partition("/")[0]) > 253:
            raise AnnotationError(
                f"{key!r} is not a valid annotation key ([prefix/]name: a DNS subdomain prefix, "
                "a name of at most 63 letters, digits, '-', '_' or '.')"
            )
        if key.startswith(RESERVED_PREFIX):
            raise AnnotationError(f"{key!r}: kdeploy.dev/ annotations are kdeploy's own stamps")
        out[key] = value
    return out


def gitlab_annotations(env: Mapping[str, str]) -> dict[str, str]:
    """GitLab's deployment annotations, when the CI job has CI_ENVIRONMENT_SLUG and
    CI_PROJECT_PATH_SLUG (a job with an `environment:`); empty otherwise."""
    slug_env = env.get("CI_ENVIRONMENT_SLUG", "")
    slug_app = env.get("CI_PROJECT_PATH_SLUG", "")
    if not slug_env or not slug_app:
        return {}
    return {GITLAB_ENV_ANNOTATION: slug_env, GITLAB_APP_ANNOTATION: slug_app}


def annotate(
    manifests: Iterable[Manifest],
    annotations: Mapping[str, str],
    pod_annotations: Mapping[str, str],
) -> list[Manifest]:
    """Copies of `manifests` with `annotations` added to each object's metadata and
    `pod_annotations` to each object's metadata and, for the kinds in MUTABLE_TEMPLATES, pod
    template (rendered annotations of the same keys are overridden)."""
    own = {**annotations, **pod_annotations}
    if not own:
        return list(manifests)
    out: list[Manifest] = []
    for m in manifests:
        copy = _with_annotations(m, own)
        template = _pod_template(copy)
        if template is not None and pod_annotations and copy.get("kind") in MUTABLE_TEMPLATES:
            spec = dict(copy["spec"])
            holder = spec
            # a CronJob's pod template is one level deeper
            if "jobTemplate" in spec:
                job = dict(spec["jobTemplate"])
                job_spec = dict(job.get("spec") or {})
                job_spec["template"] = _with_annotations(template, pod_annotations)
                job["spec"] = job_spec
                spec["jobTemplate"] = job
            else:
                holder["template"] = _with_annotations(template, pod_annotations)
            copy["spec"] = spec
        out.append(copy)
    return out


def _with_annotations(obj: Mapping[str, Any], annotations: Mapping[str, str]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return {**obj, "metadata": meta}


def _pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return None
    job = spec.get("jobTemplate")
    if isinstance(job, Mapping):
        spec = job.get("spec")
        if not isinstance(spec, Mapping):
            return None
    template = spec.get("template")
    if isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping):
        return template
    return None


def container_images(manifests: Iterable[Manifest]) -> list[str]:
    """The images of every container and init container of the pods and pod templates among
    `manifests`, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for m in manifests:
        for pod_spec in _pod_specs(m):
            for group in ("initContainers", "containers"):
                for container in pod_spec.get(group) or []:
                    image = container.get("image") if isinstance(container, Mapping) else None
                    if isinstance(image, str) and image:
                        seen.setdefault(image, None)
    return list(seen)


def _pod_specs(m: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if m.get("kind") == "Pod" and isinstance(m.get("spec"), Mapping):
        yield m["spec"]
        return
    template = _pod_template(m)
    if template is not None:
        yield template["spec"]
