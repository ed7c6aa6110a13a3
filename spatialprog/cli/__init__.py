"""The ``spatialprog`` command line: thin commands over the library.

Each command lives in its own module; shared options are in
:mod:`spatialprog.cli.options`. User mistakes (any
:class:`~spatialprog.errors.SpatialprogError`) print one line per problem and
exit with code 2; no traceback is shown unless ``--debug`` is given.
"""

from __future__ import annotations

import click

from .. import __version__
from .options import SpatialprogGroup


@click.group(cls=SpatialprogGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spatialprog")
@click.option("--debug", is_flag=True, help="Show full tracebacks (for reporting bugs).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """spatialprog: land claims and grid headroom for integraal programmeren.

    \b
    Examples:
      spatialprog validate layers/example_region.toml
      spatialprog run layers/example_region.toml --out out/
      spatialprog map out/
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    from . import check_site, conflicts, diff, export, rank, run, validate
    from . import map as map_cmd

    cli.add_command(check_site.check_site)
    cli.add_command(conflicts.conflicts)
    cli.add_command(export.export)
    cli.add_command(run.run)
    cli.add_command(validate.validate)
    cli.add_command(map_cmd.map_)
    cli.add_command(rank.rank)
    cli.add_command(diff.diff)


_register()


def main() -> None:
    """Entry point of the ``spatialprog`` script."""
    cli(obj={})
