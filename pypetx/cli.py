"""The ``pypetx`` command line: a click group whose commands live in pypetx/commands/.

Commands are imported only when invoked (``pypetx --help`` stays fast and a command's
heavy imports do not slow the others).
"""

from __future__ import annotations

import importlib
import sys

import click

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "expand": "pypetx.commands.resume:expand",
    "export": "pypetx.commands.export:export",
    "failed": "pypetx.commands.failed:failed",
    "import-pypet": "pypetx.commands.import_pypet:import_pypet",
    "plot": "pypetx.commands.plot:plot",
    "resume": "pypetx.commands.resume:resume",
    "run": "pypetx.commands.run:run",
    "show": "pypetx.commands.show:show",
    "submit": "pypetx.commands.submit:submit",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return super().get_command(ctx, name)
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="pypetx")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """pypetx: parameter exploration on Dask, results as xarray cubes in HDF5/Zarr.

    Example: pypetx show results.h5
    """
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors unless ``--debug``."""
    args = sys.argv[1:] if argv is None else argv
    try:
        cli.main(args=args, prog_name="pypetx", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, no traceback
        if "--debug" in args:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # python -m pypetx.cli
    main()
