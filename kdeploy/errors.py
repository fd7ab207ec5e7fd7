"""One error tree for every expected failure, and the exit codes the CLI maps them to."""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_LOCKED = 3
EXIT_UNHEALTHY = 4
EXIT_ROLLBACK_FAILED = 5  # apply --atomic: the automatic rollback failed too
EXIT_USAGE = 64
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130  # Ctrl-C, or a confirmation declined or aborted
EXIT_TERMINATED = 143  # SIGTERM, e.g. a cancelled CI job


class KdeployError(click.ClickException):
    """An expected failure: the message says what failed, where, and what to do next."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def format_message(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ProjectError(KdeployError):
    """A project file (package, environment, values) is missing or malformed."""


class RenderError(KdeployError):
    """A template failed to render or rendered invalid manifests."""


class ValidationError(KdeployError):
    """Values or manifests do not satisfy their schema."""


class ClusterError(KdeployError):
    """The API server refused a request; the message names the object and the reason."""


class ConflictError(ClusterError):
    """A server-side apply conflict or an ownership conflict. `fields` lists the conflicting
    fields of a server-side apply conflict as (field path, manager), e.g.
    (".spec.replicas", '"kubectl" with subresource "scale"'); empty for other conflicts."""

    def __init__(
        self, message: str, *, hint: str | None = None, fields: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.fields = fields


class ForbiddenError(ClusterError):
    """The API server answered 403: the credentials lack `verb` on `resource` (e.g. "patch" on
    "configmaps"; either may be "" when the server did not say)."""

    def __init__(
        self, message: str, *, hint: str | None = None, verb: str = "", resource: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.verb = verb
        self.resource = resource


class HistoryError(KdeployError):
    """Release history is missing, unreadable or inconsistent."""


class HelmImportError(KdeployError):
    """A Helm release cannot be imported: unknown, in the middle of an operation, a record that
    cannot be read, or objects that another release owns. Nothing was changed."""


class LockHeldError(KdeployError):
    """Another deployer holds the release lock."""

    exit_code = EXIT_LOCKED


class LockLostError(KdeployError):
    """This deployer's release lock was broken or taken over while its operation ran."""

    exit_code = EXIT_LOCKED


class WaitError(KdeployError):
    """Objects did not become healthy in time, or failed."""

    exit_code = EXIT_UNHEALTHY


class RollbackFailed(KdeployError):
    """`apply --atomic` failed and its automatic rollback failed too: the release is in a state
    nobody chose (neither the new revision nor the one before), so a person must look."""

    exit_code = EXIT_ROLLBACK_FAILED


class ChangesFound(KdeployError):
    """Not a failure: `diff --detailed-exitcode` found changes."""

    exit_code = EXIT_CHANGES


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, `kill`): unwinds like Ctrl-C, so locks are released and a
    pending revision is marked failed before the process exits."""


def interruption_name(interrupt: BaseException) -> str:
    """How a user names the signal that stopped us: `SIGTERM` or `Ctrl-C (SIGINT)`."""
    return "SIGTERM" if isinstance(interrupt, Terminated) else "Ctrl-C (SIGINT)"


class Cancelled(KdeployError):
    """An operation stopped by Ctrl-C after it changed something: the message says what was left
    in which state and the exact command to undo or finish it. Exits 130 like a plain Ctrl-C;
    build it with `cancelled`."""

    exit_code = EXIT_INTERRUPTED


class Declined(KdeployError):
    """The user answered no to the confirmation of an apply, rollback or uninstall: nothing was
    changed. Exits 130 like an aborted prompt, so a script can tell it from success."""

    exit_code = EXIT_INTERRUPTED


class CancelledByTerm(Cancelled):
    """Cancelled by SIGTERM: exits 143."""

    exit_code = EXIT_TERMINATED


def cancelled(message: str, *, hint: str | None, interrupt: BaseException) -> Cancelled:
    """The Cancelled error for an operation stopped by `interrupt` (Ctrl-C or SIGTERM)."""
    kind = CancelledByTerm if isinstance(interrupt, Terminated) else Cancelled
    return kind(message, hint=hint)
