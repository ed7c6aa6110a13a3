"""The ``spatialprog`` command line: thin commands over the library.

Each command lives in its own module, imported when it is run (so start-up
imports little); shared options are in :mod:`spatialprog.cli.options`. User
mistakes (any :class:`~spatialprog.errors.SpatialprogError`) print one line per
problem and exit with code 2; no traceback is shown unless ``--debug`` is given.

What a user can cause that is not a mistake in the input answers in one line
too:

* Ctrl-C at any moment, start-up included: ``interrupted; previous outputs are
  left as they were``, exit code 130;
* a full disk, a quota, a read-only or forbidden folder (an ``OSError`` with
  ``ENOSPC``, ``EDQUOT``, ``EROFS``, ``EACCES``, ...) or GDAL failing to
  write a dataset, should one escape a command: one line, exit code 2.
"""

from __future__ import annotations

import os
import signal
import sys

_INTERRUPTED = "interrupted; previous outputs are left as they were"


def _interrupted(*_signal_args) -> None:
    """Ctrl-C: one line on stderr, exit code 130 (128 + SIGINT), whatever was running."""
    try:
        sys.stderr.write(_INTERRUPTED + "\n")
        sys.stderr.flush()
    finally:
        raise SystemExit(130)


def _unraisable(u) -> None:
    """A Ctrl-C that Python could not raise (it landed in a callback, e.g. of the import machinery): raise it again.

    CPython prints such an exception as "Exception ignored in ..." and carries
    on, so the interrupt would be lost and the output would hold a traceback.
    The signal is sent again and raised where the command can handle it (one
    line, exit code 130); a handled exit (our own handler's SystemExit) ends
    the process at once.
    """
    exc = u.exc_value
    if isinstance(exc, KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        return
    if isinstance(exc, SystemExit) and exc.code == 130:  # the line is written already
        os._exit(130)
    sys.__unraisablehook__(u)


sys.unraisablehook = _unraisable

# a Ctrl-C while the command line starts (this module's imports and definitions) is one line too;
# the usual KeyboardInterrupt is back at the end of the module
try:
    _sigint_before = signal.signal(signal.SIGINT, _interrupted)
except ValueError:  # not the main thread: nothing to guard
    _sigint_before = None

import errno  # noqa: E402
import functools  # noqa: E402

import click  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import OutputError, SpatialprogError, shorten  # noqa: E402
from .options import SpatialprogGroup  # noqa: E402

#: command name -> (module, attribute); a command's module is imported when the command is run
_COMMANDS: dict[str, tuple[str, str]] = {
    "check-site": ("check_site", "check_site"),
    "conflicts": ("conflicts", "conflicts"),
    "diff": ("diff", "diff"),
    "export": ("export", "export"),
    "map": ("map", "map_"),
    "rank": ("rank", "rank"),
    "report": ("report_pdf", "report"),
    "run": ("run", "run"),
    "suitability": ("suitability", "suitability"),
    "validate": ("validate", "validate"),
}

#: errno -> what it means for the user and what to do (OSErrors a user's machine causes, not bugs)
_USER_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the disk", "free space, or write to another disk with --out, and run again"),
    errno.EDQUOT: ("disk quota exceeded", "free space in your quota, or write elsewhere with --out"),
    errno.EROFS: ("read-only file system", "write the outputs to another folder with --out"),
    errno.EACCES: ("permission denied", "choose a folder you may write to (--out), or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you may write to (--out), or fix its permissions"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter path"),
    errno.ELOOP: ("a symbolic link points back at itself", "fix the link, or give the real path"),
    errno.EMFILE: ("too many open files", "raise the limit of open files (ulimit -n) and run again"),
    errno.ENFILE: ("too many open files on the system", "close other programs and run again"),
    errno.EISDIR: ("is a folder, not a file", "give a file"),
    errno.ENOTDIR: ("a part of the path is not a folder", "check the path"),
}
#: what GDAL says when it could not write, in the message of a pyogrio error
_GDAL_WRITE_WORDS = ("commit", "no space", "disk", "permission", "read-only", "read only", "failed to create",
                     "failed to write", "cannot write", "unable to write")


def user_fault(e: BaseException) -> SpatialprogError | None:
    """The one-line error for an exception the user's machine caused (disk full, ...); None for anything else.

    Parameters
    ----------
    e : BaseException

    Returns
    -------
    SpatialprogError or None
        An :class:`~spatialprog.errors.OutputError` (exit code 2), or None when ``e`` is not such a fault.

    Examples
    --------
    >>> str(user_fault(OSError(errno.ENOSPC, "No space left on device", "out/headroom.csv")))
    "no space left on the disk: 'out/headroom.csv' - free space, or write to another disk with --out, and run again"
    >>> user_fault(ValueError("a bug")) is None
    True
    """
    if isinstance(e, SpatialprogError):
        return None
    if isinstance(e, OSError) and e.errno in _USER_OS_ERRORS:
        what, fix = _USER_OS_ERRORS[e.errno]
        where = f": '{shorten(e.filename)}'" if e.filename else ""
        return OutputError(f"{what}{where} - {fix}")
    pyogrio = sys.modules.get("pyogrio.errors")
    if pyogrio is not None and isinstance(e, pyogrio.DataSourceError | pyogrio.DataLayerError):
        text = shorten(e, 200)
        if isinstance(e, pyogrio.DataSourceError) or any(w in text.lower() for w in _GDAL_WRITE_WORDS):
            return OutputError(f"GDAL could not write: {text} - is the disk full, or the output folder not writable? "
                               f"Free space or choose another --out, and run again")
    return None


def _guarded(command: click.Command) -> click.Command:
    """Let a command's user faults (disk full, ...) reach the group as one-line errors."""
    callback = command.callback
    if callback is None or getattr(callback, "_spatialprog_guarded", False):
        return command

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except Exception as e:
            err = user_fault(e)
            if err is None:
                raise
            raise err from e

    run._spatialprog_guarded = True  # type: ignore[attr-defined]
    command.callback = run
    return command


class _Commands(SpatialprogGroup):
    """The spatialprog group: commands imported when run, Ctrl-C in one line at any moment."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            import importlib

            module, attr = _COMMANDS[cmd_name]
            self.add_command(_guarded(getattr(importlib.import_module(f"{__name__}.{module}"), attr)), cmd_name)
        return super().get_command(ctx, cmd_name)

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1
            _interrupted()

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # also while an error is being reported
            _interrupted()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


if _sigint_before is not None:
    signal.signal(signal.SIGINT, _sigint_before)


def main() -> None:
    """Entry point of the ``spatialprog`` script.

    Ctrl-C anywhere ends it with one line and exit code 130; a user fault that
    escapes the commands (:func:`user_fault`) with one line and exit code 2.
    Once the command has finished, a Ctrl-C while Python shuts down is ignored
    (the work is done; the exit code stays the command's).
    """
    try:
        try:
            cli.main(prog_name="spatialprog", obj={})
        except Exception as e:
            err = user_fault(e)
            if err is None:
                raise
            click.echo(f"error: {err}", err=True)
            raise SystemExit(err.exit_code) from None
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not interrupt the message
        _exit_interrupted(write=True)
    except SystemExit as e:
        if e.code == 130:  # interrupted, and said so
            _exit_interrupted(write=False)
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_interrupted(*, write: bool) -> None:
    """Exit with 130 at once, the command's own clean-up (``finally``, staging) done.

    Not through the interpreter's exit: CPython kills itself with SIGINT at exit (exit code -2 instead of
    130) once a KeyboardInterrupt went through code it ran with ``PyRun_*`` (as extension modules'
    initialisation may do), even when the interrupt was handled.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if write:
        sys.stderr.write(_INTERRUPTED + "\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)
