"""Command-line options several commands share, one decorator (or decorator factory) per group,
so that a flag is spelled and explained in one place.

Only click is imported here: the commands import this module when they load, and `kdeploy --help`
must stay light."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """Adds options (or an argument) to a click command function."""

    def __call__(self, f: F, /) -> F: ...


VALUES_FILE_HELP = (
    "Extra values file, applied after the environment's (repeatable, in order); "
    "RELEASE:FILE for one release only."
)
SET_HELP = "Set a value (YAML scalar); RELEASE:PATH=VALUE for one release only."
SET_STRING_HELP = "Set a string value; RELEASE:PATH=VALUE for one release only."
SET_FILE_HELP = (
    "Set a value to the text of FILE (relative to the project; a file in the project must not "
    "link outside it); RELEASE:PATH=FILE for one release only."
)
SET_JSON_HELP = "Set a value from JSON (any type); RELEASE:PATH=JSON for one release only."


class ValuesFile(click.Path):
    """A -f FILE (or RELEASE:FILE): from KDEPLOY_VALUES, several are separated by spaces, not by
    ':' as click does for paths (':' separates a release scope from its file)."""

    def split_envvar_value(self, rv: str) -> list[str]:
        return rv.split()


def _stack(f: F, decorators: list[Callable[[Any], Any]]) -> F:
    """Apply `decorators` so that their options appear in `--help` in list order."""
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def env_option(help: str, *, required: bool = False, metavar: str | None = None) -> Decorator:
    """-e/--env ENV (the value goes to the `env` parameter)."""
    return click.option(
        "-e", "--env", "env", required=required, default=None, metavar=metavar, help=help
    )


def _check_name(what: str, value: str, ctx: click.Context, param: click.Parameter) -> None:
    """A usage error (exit 64) unless `value` is a DNS-1123 label: release and namespace names end
    up in label selectors, labels and object names, so nothing else may reach them."""
    from kdeploy.project import NAME_RULE, is_name

    if not is_name(value):
        raise click.BadParameter(f"{value!r} is not a valid {what} name: {NAME_RULE}", ctx, param)


def _check_release(ctx: click.Context, param: click.Parameter, value: str) -> str:
    _check_name("release", value, ctx, param)
    return value


def _check_releases(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    for name in value:
        _check_name("release", name, ctx, param)
    return value


def _check_namespace(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        _check_name("namespace", value, ctx, param)
    return value


def namespace_option(help: str) -> Decorator:
    """-n/--namespace NAMESPACE (validated: a usage error unless a DNS-1123 label)."""
    return click.option("-n", "--namespace", default=None, callback=_check_namespace, help=help)


def release_argument(f: F) -> F:
    """The RELEASE argument of the commands on one release (validated like a namespace)."""
    return click.argument("release", callback=_check_release)(f)


def _check_optional_release(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is not None:
        _check_name("release", value, ctx, param)
    return value


def optional_release_argument(f: F) -> F:
    """An optional RELEASE argument (rollback and uninstall take -e ENV --all instead)."""
    return click.argument("release", required=False, callback=_check_optional_release)(f)


def releases_argument(metavar: str | None = None) -> Decorator:
    """The optional RELEASE... names (the `releases` parameter; none: every release), each
    validated."""
    return click.argument("releases", nargs=-1, metavar=metavar, callback=_check_releases)


def delete_namespaces_option(what: str) -> Decorator:
    """--delete-namespaces: let `what` delete the release's Namespaces (never a side effect)."""
    return click.option(
        "--delete-namespaces",
        is_flag=True,
        help=f"Let {what} delete the release's Namespace objects, with everything in them "
        "(without it a Namespace is kept and reported; on a terminal, kdeploy asks).",
    )


def annotate_option(f: F) -> F:
    """--annotate KEY=VALUE (repeatable; the `annotations` parameter)."""
    return click.option(
        "--annotate",
        "annotations",
        multiple=True,
        metavar="KEY=VALUE",
        help="Add this annotation to every object's metadata (not to pod templates, so a value "
        "that changes per pipeline restarts nothing); repeatable.",
    )(f)


def create_namespace_option(f: F) -> F:
    """--create-namespace: create a missing release namespace (diff plans it as created)."""
    return click.option(
        "--create-namespace",
        is_flag=True,
        help="Create the release namespace when it does not exist and no earlier release of the "
        "environment creates it (recorded in the revision; never pruned, kept by uninstall).",
    )(f)


def values_options(
    *,
    file_metavar: str | None = None,
    set_help: str = SET_HELP,
    set_string_help: str = SET_STRING_HELP,
) -> Decorator:
    """-f/--values FILE, --set PATH=VALUE, --set-string PATH=VALUE, --set-file PATH=FILE and
    --set-json PATH=JSON (the `value_files`, `sets`, `set_strings`, `set_files` and `set_jsons`
    parameters)."""
    decorators = [
        click.option(
            "-f",
            "--values",
            "value_files",
            multiple=True,
            type=ValuesFile(dir_okay=False),
            metavar=file_metavar,
            help=VALUES_FILE_HELP,
        ),
        click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help=set_help),
        click.option(
            "--set-string",
            "set_strings",
            multiple=True,
            metavar="PATH=VALUE",
            help=set_string_help,
        ),
        click.option(
            "--set-file", "set_files", multiple=True, metavar="PATH=FILE", help=SET_FILE_HELP
        ),
        click.option(
            "--set-json", "set_jsons", multiple=True, metavar="PATH=JSON", help=SET_JSON_HELP
        ),
    ]

    def add(f: F) -> F:
        return _stack(f, decorators)

    return add


def render_options(f: F) -> F:
    """-f/--values, --set and --set-string with the short help of the live commands."""
    return values_options()(f)


API_VERSIONS_HELP = (
    "An API the templates' kube.has() finds served, besides the built-in ones of the Kubernetes "
    "version: group/version or group/version/Kind (repeatable, or comma-separated)."
)


def api_versions_option(f: F) -> F:
    """--api-versions for the offline commands (render, lint): `api_versions`."""
    return click.option(
        "--api-versions",
        "api_versions",
        multiple=True,
        metavar="GROUP/VERSION[/KIND]",
        help=API_VERSIONS_HELP,
    )(f)


def cluster_options(f: F) -> F:
    """--kubeconfig and --context (they override the environment's `cluster:`)."""
    return _stack(
        f,
        [
            click.option(
                "--kubeconfig",
                default=None,
                type=click.Path(dir_okay=False),
                help="Kubeconfig file (default: the environment's cluster.kubeconfig, KUBECONFIG, "
                "~/.kube/config; in a pod, its service account).",
            ),
            click.option(
                "--context",
                default=None,
                help="Kubeconfig context (default: the environment's cluster.context, else "
                "current).",
            ),
        ],
    )


def release_location_options(f: F) -> F:
    """-n/--namespace and -e/--env, for commands on one release (exactly one is required)."""
    return _stack(
        f,
        [
            namespace_option("Namespace of the release (no project needed)."),
            env_option("Environment declaring the release."),
        ],
    )


def release_options(f: F) -> F:
    """-n/--namespace, -e/--env, --kubeconfig and --context, for the commands that read one
    release's history or lock (see kdeploy.commands._release.resolve_release)."""
    return _stack(
        f,
        [
            namespace_option("Namespace of the release (no project files needed)."),
            env_option("Environment that declares the release (gives its namespace and cluster)."),
            click.option(
                "--kubeconfig",
                default=None,
                metavar="PATH",
                help="Kubeconfig file (default: the environment's, KUBECONFIG, ~/.kube/config).",
            ),
            click.option(
                "--context", default=None, metavar="NAME", help="Kubeconfig context to use."
            ),
        ],
    )


def _check_duration(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`value` unchanged when it is a duration (or absent); a usage error (exit 64) otherwise."""
    if value is not None:
        from kdeploy.durations import DurationError, parse_duration

        try:
            parse_duration(value, what=f"--{(param.name or '').replace('_', '-')}")
        except DurationError as e:
            raise click.BadParameter(e.format_message(), ctx, param) from None
    return value


def wait_for_lock_option(f: F) -> F:
    """--wait-for-lock[=DURATION] for the commands that take the release lock."""
    return click.option(
        "--wait-for-lock",
        "wait_for_lock",
        is_flag=False,
        flag_value="5m",
        default=None,
        metavar="DURATION",
        callback=_check_duration,
        help="When another deployer holds the release lock, wait for it (default 5m when given "
        "without a value, e.g. --wait-for-lock=10m) instead of failing with exit code 3.",
    )(f)


def full_diff_option(f: F) -> F:
    """--full-diff for the commands that plan a release against the cluster."""
    return click.option(
        "--full-diff",
        is_flag=True,
        help="Dry-run apply every object when planning, also those whose live state shows that "
        "kdeploy's last apply is intact (skipped by default; see docs/performance.md).",
    )(f)


def diff_lines_option(f: F) -> F:
    """--diff-lines for the commands that print a release's diff before changing it."""
    return click.option(
        "--diff-lines",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Longest text diff shown per release: beyond N lines, created objects are listed by "
        "name only (changes and deletions stay whole). Default 1000 in CI (CI=true or GITLAB_CI=true "
        "set), no limit elsewhere; 0: no limit.",
    )(f)


ENVVAR_PREFIX = "KDEPLOY_"
# Options that never come from the environment. A --set value may hold spaces (a variable is split
# on whitespace into several values). The rest must be deliberate on each command line: a variable
# left set in a CI project would silently print secrets, take over objects, override other field
# managers, empty live Secrets, break a lock, roll back to a fixed revision, delete whole
# namespaces or uninstall every release of an environment on every later run.
NO_ENVVAR = frozenset(
    {
        "--set",
        "--set-string",
        "--set-file",
        "--set-json",
        "--show-secrets",
        "--adopt",
        "--delete-namespaces",
        "--all",
        "--force-conflicts",
        "--allow-secret-removal",
        "--force",
        "--to",
        "--to-commit",
        "--allow-unverified",
        "--help",
        "--version",
    }
)


# flags whose variable would change what is deployed: a variable named after one is refused, so
# that `KDEPLOY_SET_STRING=web:image.tag=...` never deploys the environment file's tag instead
VALUE_FLAGS = frozenset({"--set", "--set-string", "--set-file", "--set-json"})


def unread_envvars(command: click.Command, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, flag) for each KDEPLOY_ variable in `environ` named after a flag of `command`
    that is never read from the environment (NO_ENVVAR), e.g. KDEPLOY_SET_STRING. Pure."""
    found = []
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        longest = max(param.opts, key=len)
        if longest in NO_ENVVAR and longest.startswith("--") and longest != "--help":
            name = ENVVAR_PREFIX + longest[2:].upper().replace("-", "_")
            if name in environ:
                found.append((name, longest))
    return found


def check_unread_envvars(command: click.Command, environ: Mapping[str, str]) -> None:
    """Refuse (usage error) a variable named after --set and friends, which kdeploy never reads
    (the values would silently not be deployed); warn on stderr about the other unread ones
    (--force-conflicts, --adopt...: ignoring them is the safe side)."""
    for name, flag in unread_envvars(command, environ):
        if flag in VALUE_FLAGS:
            raise click.UsageError(
                f"{name} is set, but {flag} is never read from a variable (a value in a CI "
                f"variable would not be deployed): give {flag} on the command line, e.g. "
                f'{flag} "${name}", or unset {name}'
            )
        click.echo(
            f"Warning: {name} is set but not read: {flag} is taken from the command line only "
            "(docs/cli.md, options from variables)",
            err=True,
        )


def option_envvar(command_name: str, option: click.Option) -> str | None:
    """The environment variable that gives `option` of `command_name` its value when the flag is
    not on the command line: KDEPLOY_ and the long flag in capitals (--wait-for-lock:
    KDEPLOY_WAIT_FOR_LOCK), shared by every command that has the flag; the emulator's own
    options take KDEPLOY_EMULATOR_. None for the flags in NO_ENVVAR."""
    longest = max(option.opts, key=len)
    if longest in NO_ENVVAR or not longest.startswith("--"):
        return None
    name = longest[2:].upper().replace("-", "_")
    prefix = f"{ENVVAR_PREFIX}EMULATOR_" if command_name == "emulator" else ENVVAR_PREFIX
    return prefix + name


def bind_envvars(command: click.Command, command_name: str) -> click.Command:
    """`command` (and a group's subcommands) with each option reading its variable (see
    option_envvar) and `--help` showing it. Idempotent: commands are module-level objects."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            bind_envvars(sub, command_name)
    for param in command.params:
        if isinstance(param, click.Option) and param.envvar is None:
            envvar = option_envvar(command_name, param)
            if envvar is not None:
                param.envvar = envvar
                param.show_envvar = True
    return command
