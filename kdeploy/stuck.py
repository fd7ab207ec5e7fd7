"""Which containers are stuck in a state that does not fix itself (ImagePullBackOff, a crash loop,
a missing ConfigMap key...), and for how long: what `--fail-fast` judges.

Kubernetes records no time for a container's waiting reason, so the time is counted from when the
wait first saw it. `StuckClock.observe` is fed every reading of the pods; a container's stretch
ends when it is seen ready without having restarted since the stretch began (its image was pulled
at last, the missing Secret appeared), or when its pod is no longer seen. A crash-looping container
is briefly running between crashes: its restart count grows meanwhile, so that does not end the
stretch. Pure logic: the caller reads the pods and supplies the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Waiting reasons after which a pod does not become ready without a change to it or its
# surroundings (a new image, a fixed command, a created Secret).
FAIL_FAST_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
    }
)


@dataclass(frozen=True)
class StuckContainer:
    """A container of `pod` in a fail-fast waiting `reason` since `since` (the caller's clock)."""

    pod: str
    container: str
    reason: str
    since: float

    def text(self, now: float) -> str:
        """`pod web-1: container app in ImagePullBackOff for 31s`."""
        return f"pod {self.pod}: {self.container} in {self.reason} for {seconds(now - self.since)}"


@dataclass(frozen=True)
class _Stretch:
    since: float
    restarts: int


@dataclass
class StuckClock:
    """Since when each container has been stuck, across the pod readings of one wait."""

    _stretches: dict[tuple[str, str, str], _Stretch] = field(default_factory=dict)
    _current: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def observe(self, pods: Iterable[Mapping[str, Any]], now: float, *, scope: str = "") -> None:
        """Record one reading of `pods` (all pods of one waited object, `scope` naming it) at
        `now`. Containers of pods absent from the reading lose their stretch."""
        seen: set[tuple[str, str, str]] = set()
        for pod in pods:
            meta = pod.get("metadata") or {}
            name = str(meta.get("name", ""))
            for label, cs in _containers(pod):
                key = (scope, name, label)
                seen.add(key)
                reason = str(((cs.get("state") or {}).get("waiting") or {}).get("reason") or "")
                restarts = _int(cs.get("restartCount"))
                stretch = self._stretches.get(key)
                if reason in FAIL_FAST_REASONS:
                    self._current[key] = reason
                    if stretch is None:
                        self._stretches[key] = _Stretch(now, restarts)
                    continue
                self._current.pop(key, None)
                if stretch is not None and cs.get("ready") and restarts <= stretch.restarts:
                    del self._stretches[key]
        for key in [k for k in self._stretches if k[0] == scope and k not in seen]:
            del self._stretches[key]
            self._current.pop(key, None)

    def stuck(self, scope: str = "") -> list[StuckContainer]:
        """The containers of `scope` now in a fail-fast reason, longest stuck first."""
        found = [
            StuckContainer(pod, container, reason, self._stretches[(s, pod, container)].since)
            for (s, pod, container), reason in self._current.items()
            if s == scope and (s, pod, container) in self._stretches
        ]
        return sorted(found, key=lambda c: (c.since, c.pod, c.container))

    def longer_than(self, grace: float, now: float, scope: str = "") -> list[StuckContainer]:
        """The containers of `scope` stuck for more than `grace` seconds at `now`."""
        return [c for c in self.stuck(scope) if now - c.since > grace]


def _containers(pod: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    status = pod.get("status") or {}
    for fname, word in (("initContainerStatuses", "init container"), ("containerStatuses", "")):
        for cs in status.get(fname) or []:
            if isinstance(cs, Mapping):
                yield f"{word or 'container'} {cs.get('name', '?')}", cs


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def seconds(value: float) -> str:
    """A duration as progress output shows it: `4.2s`, `31s`, `2m05s`."""
    if value < 10:
        return f"{value:.1f}s"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
