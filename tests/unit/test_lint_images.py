"""Rule image-pinned, and image reference parsing."""

from __future__ import annotations

import pytest
from lint_helpers import container, deployment, objects

from kdeploy.lint import images


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", ("nginx", None, None)),
        ("nginx:1.27", ("nginx", "1.27", None)),
        ("registry.local:5000/team/app", ("registry.local:5000/team/app", None, None)),
        ("registry.local:5000/team/app:2.1", ("registry.local:5000/team/app", "2.1", None)),
        ("app@sha256:abc", ("app", None, "sha256:abc")),
        ("host:5000/app:1.0@sha256:abc", ("host:5000/app", "1.0", "sha256:abc")),
    ],
)
def test_split_image(image: str, expected: tuple[str, str | None, str | None]) -> None:
    assert images.split_image(image) == expected


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27.2",
        "ghcr.io/acme/web:v3",
        "host:5000/app:1.0",
        "app@sha256:abc",
        "a:latest@sha256:0",
    ],
)
def test_pinned_images_pass(image: str) -> None:
    assert list(images.check(objects(deployment(containers=[container(image=image)])))) == []


def test_missing_tag_is_an_error_naming_the_image() -> None:
    (f,) = images.check(objects(deployment(containers=[container(image="nginx")])))
    assert f.rule == "image-pinned" and f.severity == "error"
    assert f.message == 'image "nginx" has no tag; pin a tag or digest'
    assert f.path == "spec.template.spec.containers[0].image"


def test_registry_port_is_not_mistaken_for_a_tag() -> None:
    (f,) = images.check(objects(deployment(containers=[container(image="host:5000/app")])))
    assert "has no tag" in f.message


def test_latest_tag_is_an_error() -> None:
    (f,) = images.check(objects(deployment(containers=[container(image="nginx:latest")])))
    assert '"latest" tag' in f.message
