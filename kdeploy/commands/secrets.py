"""`kdeploy secrets encrypt|decrypt|edit`: age-encrypted values files (`*.enc.yaml`, see
kdeploy.encrypted). The clear text never touches the disk except in `edit`, which hands the
editor a private temporary file (mode 0600, in /dev/shm when there is one) and removes it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import click

from kdeploy.errors import KdeployError

RECIPIENT_HELP = (
    "age recipient (age1...) to encrypt to (repeatable; default: the public key of "
    "KDEPLOY_AGE_KEY / KDEPLOY_AGE_KEY_FILE)."
)


@click.group("secrets")
def command() -> None:
    """Encrypt, decrypt and edit age-encrypted values files (*.enc.yaml)."""


def _project_path(ctx: click.Context, given: str) -> Path:
    path = Path(given)
    if path.is_absolute():
        return path
    return Path((ctx.find_root().obj or {}).get("project_dir") or os.getcwd()) / path


@command.command("encrypt")
@click.argument("file")
@click.option(
    "-r", "--recipient", "recipients", multiple=True, metavar="AGE1...", help=RECIPIENT_HELP
)
@click.pass_context
def encrypt(ctx: click.Context, file: str, recipients: tuple[str, ...]) -> None:
    """Encrypt the values file FILE to FILE.enc.yaml (the clear file is left for you to delete)."""
    from kdeploy.commands._files import write_text_atomic
    from kdeploy.encrypted import SUFFIX, encrypt_text, is_encrypted_name
    from kdeploy.encrypted import recipients as to_recipients
    from kdeploy.yamlio import load_user_text

    source = _project_path(ctx, file)
    if is_encrypted_name(source):
        raise click.BadParameter(f"{file} is encrypted already", param_hint="FILE")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as e:
        raise KdeployError(f"{file}: cannot read: {e.strerror or e}") from None
    load_user_text(text, file)  # a values file must be valid YAML before it is sealed
    target = source.with_name(source.name.removesuffix(".yaml").removesuffix(".yml") + SUFFIX)
    to = to_recipients(recipients, os.environ)
    write_text_atomic(target, encrypt_text(text, to), what="", hint="check the directory")
    click.echo(
        f"wrote {target} (encrypted to {len(to)} recipient(s)); delete {file} yourself", err=True
    )


@command.command("decrypt")
@click.argument("file")
@click.pass_context
def decrypt(ctx: click.Context, file: str) -> None:
    """Print the clear text of the encrypted values file FILE (needs KDEPLOY_AGE_KEY or
    KDEPLOY_AGE_KEY_FILE). Nothing is written to disk."""
    from kdeploy.encrypted import decrypt_text

    click.echo(decrypt_text(_project_path(ctx, file), file), nl=False)


@command.command("edit")
@click.argument("file")
@click.option(
    "-r", "--recipient", "recipients", multiple=True, metavar="AGE1...", help=RECIPIENT_HELP
)
@click.pass_context
def edit(ctx: click.Context, file: str, recipients: tuple[str, ...]) -> None:
    """Decrypt FILE into a private temporary file, open $EDITOR on it, and encrypt the result back
    (to the recipients given, else to the key's public key); the temporary file is removed."""
    from kdeploy.commands._files import write_text_atomic
    from kdeploy.encrypted import decrypt_text, encrypt_text
    from kdeploy.encrypted import recipients as to_recipients
    from kdeploy.yamlio import load_user_text

    path = _project_path(ctx, file)
    clear = decrypt_text(path, file)
    to = to_recipients(recipients, os.environ)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    where = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, tmp = tempfile.mkstemp(suffix=".yaml", prefix="kdeploy-edit-", dir=where)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(clear)
        done = subprocess.run([*editor.split(), tmp], check=False)
        if done.returncode != 0:
            raise KdeployError(f"{editor} exited with {done.returncode}: {file} was not changed")
        edited = Path(tmp).read_text(encoding="utf-8")
    finally:
        Path(tmp).unlink(missing_ok=True)
    if edited == clear:
        click.echo(f"{file}: unchanged", err=True)
        return
    load_user_text(edited, file)  # refuse to seal invalid YAML
    write_text_atomic(path, encrypt_text(edited, to), what="", hint="check the directory")
    click.echo(f"wrote {path} (encrypted to {len(to)} recipient(s))", err=True)
