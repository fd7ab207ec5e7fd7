"""Rule image-pinned: every container image names a tag or digest, and the tag is not `latest`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kdeploy.lint.findings import POD_KINDS, Finding, Rule
from kdeploy.lint.workloads import containers, finding
from kdeploy.model import RenderedObject

IMAGE_PINNED = Rule(
    "image-pinned",
    "error",
    "container images are pinned to a tag or digest (no missing tag, no `latest`)",
    POD_KINDS,
)
RULES = (IMAGE_PINNED,)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (repository, tag, digest); tag or digest are None when absent.

    A colon before the last `/` belongs to a registry host's port (`host:5000/app`), not a tag.
    """
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest or None
    return rest, None, digest or None


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is."""
    _, tag, digest = split_image(image)
    if digest:
        return None
    if not tag:
        return f'image "{image}" has no tag; pin a tag or digest'
    if tag == "latest":
        return f'image "{image}" uses the "latest" tag; pin a version tag or digest'
    return None


def check(objects: Sequence[RenderedObject]) -> Iterator[Finding]:
    """Yield a finding for each container whose image is not pinned."""
    for obj in objects:
        for c in containers(obj.manifest):
            image = c.spec.get("image")
            if not isinstance(image, str) or not image:
                continue  # a missing image is a schema problem, reported by manifest-schema
            problem = image_problem(image)
            if problem:
                yield finding(IMAGE_PINNED, obj, problem, f"{c.path}.image")
