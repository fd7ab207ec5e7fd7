"""`kdeploy unlock RELEASE (-n NAMESPACE | -e ENV) --force`: break a release lock explicitly."""

from __future__ import annotations

import click

from kdeploy.commands._options import release_argument, release_options
from kdeploy.commands._release import resolve_release


@click.command("unlock")
@release_argument
@release_options
@click.option(
    "--force",
    is_flag=True,
    help="Really break the lock (without it, only shows who holds it and exits 1).",
)
@click.pass_context
def command(
    ctx: click.Context,
    release: str,
    namespace: str | None,
    env: str | None,
    kubeconfig: str | None,
    context: str | None,
    force: bool,
) -> int:
    """Break the lock of RELEASE (the Lease kdeploy-lock.RELEASE in its namespace).

    Only needed when a holder is gone and you cannot wait for its lease to expire (30 s after its
    last renewal): a crashed deployer's lock is taken over automatically once it expires. Breaking
    the lock of a deployer that is still running lets a second one run at the same time; the
    first notices at its next renewal and warns. Exits 0 when the lock was broken or there was
    none, 1 without --force.
    """
    from kdeploy.commands._release import connect
    from kdeploy.errors import KdeployError
    from kdeploy.history.identity import utc_now
    from kdeploy.lock import break_lock, held_message, read_lock

    target = resolve_release(ctx, release, namespace, env, kubeconfig, context)
    api = connect(target.cluster())
    state = read_lock(api, target.release, target.namespace)
    where = f"release {target.release} in namespace {target.namespace}"
    if state is None or not state.holder:
        click.echo(f"{where} is not locked; nothing to do.", err=True)
        return 0
    now = utc_now()
    described = held_message(target.release, target.namespace, state, now)
    if state.expired(now):
        described += " (expired: the next deployer takes it over anyway)"
    if not force:
        raise KdeployError(
            described,
            hint=f"to break it, run: kdeploy unlock {target.release} -n {target.namespace} --force",
        )
    if break_lock(api, target.release, target.namespace, state):
        click.echo(f"Broke the lock of {where} (was: {described.split(' is ', 1)[1]}).", err=True)
    else:
        click.echo(f"{where} was unlocked meanwhile; nothing to do.", err=True)
    return 0
