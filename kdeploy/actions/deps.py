"""Everything an action needs from the outside world, in one object (built by the commands, faked by
the action tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from kdeploy.difflayout import DiffLayout
from kdeploy.history.identity import Identity, utc_now
from kdeploy.kube.client import ClusterClient
from kdeploy.lock import Locker, NoLocks

if TYPE_CHECKING:
    from kdeploy.history.store import HistoryStore


class Output(Protocol):
    """Where actions report to. `interactive` says whether a person can answer `confirm`."""

    @property
    def interactive(self) -> bool: ...

    def info(self, text: str) -> None:
        """A progress or status line (stderr)."""
        ...

    def result(self, text: str) -> None:
        """Primary output (stdout), e.g. a table or JSON."""
        ...

    def diff(self, text: str) -> None:
        """A diff in unified format (stdout; coloured on a terminal)."""
        ...

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question; only called when `interactive`."""
        ...


@dataclass
class Deps:
    """The injected I/O of an action: cluster, history, output, clock, deployer identity and the
    release locks (mutating actions hold `locks.hold(release, namespace)` throughout).
    `target_cluster` names the kube context and API server for confirmation questions
    ("context prod at https://10.0.0.1:6443"; empty: not named)."""

    cluster: ClusterClient
    history: HistoryStore
    output: Output
    clock: Callable[[], datetime] = utc_now
    identity: Identity = field(default_factory=lambda: Identity(who="unknown"))
    locks: Locker = field(default_factory=NoLocks)
    target_cluster: str = ""
    # whether one git commit is an ancestor of another (apply --if-newer); default: never known
    ancestry: Callable[[str, str], bool | None] = lambda _older, _newer: None
    # dry-run apply every desired object when planning, even those whose live state shows that
    # an apply changes nothing (--full-diff; see kdeploy.noop_apply)
    full_diff: bool = False
    # how text diffs are laid out in a log (--diff-lines, GitLab collapsible sections)
    diff_layout: DiffLayout = field(default_factory=DiffLayout)

    def on_cluster(self, question: str) -> str:
        """`question` naming the cluster it is about: "..., on context prod at https://...". Every
        question before a change to a cluster goes through here."""
        return f"{question}, on {self.target_cluster}" if self.target_cluster else question
