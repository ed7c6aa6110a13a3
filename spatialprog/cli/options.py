"""Options shared by several commands, and the error handling of the CLI."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..errors import LayerValidationError, SpatialprogError


def _console(stderr: bool) -> Console:
    c = Console(stderr=stderr, highlight=False)
    if not c.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
        c = Console(stderr=stderr, highlight=False, width=140)
    return c


console = _console(False)
err_console = _console(True)


def lit(value: Any) -> str:
    r"""User text made safe to put into rich markup, so it prints as typed.

    Every name, id, variant, description, path or message that came from the
    user (a layer, the project file, an option) goes through here before it is
    put between markup tags, into a table cell or a panel: ``[/]`` or
    ``[fase 2]`` in a name is then shown, never read as a tag.

    Parameters
    ----------
    value : object
        ``None`` gives ``""``; anything else is shown as ``str(value)``.

    Returns
    -------
    str

    Examples
    --------
    >>> lit("Wijk [fase 2] Zuid")
    'Wijk \\[fase 2] Zuid'
    >>> from rich.text import Text
    >>> Text.from_markup(f"[bold]{lit('Wijk [/] Zuid')}[/]").plain
    'Wijk [/] Zuid'
    """
    return "" if value is None else escape(str(value))

project_argument = click.argument(
    "project", type=click.Path(path_type=Path, dir_okay=False), metavar="PROJECT.toml"
)


def report_error(e: BaseException) -> None:
    """Print a user error: one line per problem, in red, on stderr."""
    lines = e.lines() if isinstance(e, LayerValidationError) else [str(e)]
    limit = 25
    for line in lines[:limit]:
        err_console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, markup=True, highlight=False)
    if len(lines) > limit:
        err_console.print(f"[red]... and {len(lines) - limit} more problems[/]")


class SpatialprogGroup(click.Group):
    """A click group that turns SpatialprogError into one-line messages and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpatialprogError as e:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            report_error(e)
            sys.exit(e.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            err_console.print("[red]interrupted[/]; previous outputs are left as they were")
            sys.exit(130)
        except Exception as e:  # a bug: say so in one line, keep the traceback for --debug
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            err_console.print(
                f"[bold red]internal error:[/] {type(e).__name__}: {escape(' '.join(str(e).split())[:300])} - this is a bug in "
                f"spatialprog; rerun with --debug and report it", soft_wrap=True,
            )
            sys.exit(1)


def computed_project(source: Path, status: Any, *, hint: str):
    """A project file computed in memory for the output commands (map, report, export): the run and its ranking.

    Parameters
    ----------
    source : Path
        The project file (``.toml``); anything else is a usage error naming ``hint``.
    status : rich status
        Told of each stage.
    hint : str
        The argument's name in the error (``PROJECT.toml|OUT_DIR``).

    Returns
    -------
    (Plan, RunResult, RankingResult)
    """
    if source.suffix.lower() != ".toml":
        raise click.BadParameter("must be a project file (.toml) or the output folder of 'spatialprog run'",
                                 param_hint=hint)
    from ..pipeline import compute, read_plan
    from ..workflow import ranking_of

    plan = read_plan(source, progress=lambda s: status.update(lit(s) + " ..."))
    result = compute(plan, progress=lambda s: status.update(lit(s) + " ..."))
    status.update("ranking and programme ...")
    return plan, result, ranking_of(result)
