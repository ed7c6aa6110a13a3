"""One error hierarchy for spatialprog.

Every error a user can cause derives from :class:`SpatialprogError`. Subclasses
also inherit a builtin where one fits (``LayerReadError`` is an ``OSError``,
``ProjectError`` a ``ValueError``), so callers may catch either, as in rasterio.

Each message is one line that names *where* (layer, feature id, field or the
project-file key), *what* was found, and *how to fix it*. The CLI prints
``str(error)`` and exits with code 2; it never shows a traceback for these.

Problems that can be repaired (an invalid polygon, a numeric column stored as
text) are not errors: they are repaired and recorded as :class:`Notice` objects
so they can be reported with the run.

A value echoed in a message is cut to about :data:`VALUE_CHARS` characters
(:func:`shorten`, :func:`show`), so a 50 MB cell or key never ends up in a
message; :class:`Problem`, :class:`Notice` and every :class:`SpatialprogError`
cut what reaches them once more, as a safety net (:data:`MESSAGE_CHARS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "VALUE_CHARS",
    "MESSAGE_CHARS",
    "shorten",
    "show",
    "SpatialprogError",
    "ProjectError",
    "LayerReadError",
    "LayerValidationError",
    "CRSError",
    "ParameterError",
    "AssignmentError",
    "ConflictRuleError",
    "OutputError",
    "Problem",
    "Notice",
]


#: a value echoed in a message (a cell, a key, a file's column name) is cut to about this many characters
VALUE_CHARS = 80
#: a whole message longer than this keeps its start (where, what) and its end (the fix), cut in the middle
MESSAGE_CHARS = 2000


def shorten(value: object, limit: int = VALUE_CHARS) -> str:
    """A value as one line of about ``limit`` characters, for a message.

    Whitespace (newlines too) becomes one space; a longer value is cut with
    ``...`` and its full length. Only the head of a long string is copied.

    Examples
    --------
    >>> shorten("a\\nb")
    'a b'
    >>> shorten("x" * 50_000_000, 10)
    'xxxxxxx... (50,000,000 characters)'
    """
    text = value if isinstance(value, str) else str(value)
    n = len(text)
    head = " ".join(text[: limit + 1].split())
    if not head.isprintable():  # control characters (terminal escapes) are shown escaped
        head = head.encode("unicode_escape").decode("ascii")
    if n <= limit and len(head) <= limit:
        return head
    return head[: max(limit - 3, 1)].rstrip() + f"... ({n:,} characters)"


def show(value: object, limit: int = VALUE_CHARS) -> str:
    """A value as ``repr`` shows it (strings quoted), cut like :func:`shorten`.

    Examples
    --------
    >>> show("abc"), show(12.5)
    ("'abc'", '12.5')
    >>> show("y" * 1000, 12)
    "'yyyyyyyyy... (1,000 characters)'"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return "'" + shorten(value, limit) + "'"
    return shorten(repr(value), limit)


def _clip(text: object, limit: int = MESSAGE_CHARS) -> object:
    """A message of at most about ``limit`` characters: its start and its end, cut in the middle."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
    return f"{head} ... [{len(text) - len(head) - len(tail):,} characters cut] ... {tail}"


def _rebuilt(cls: type, args: tuple, state: dict) -> BaseException:
    """A pickled :class:`SpatialprogError` made again without calling its ``__init__``."""
    e = cls.__new__(cls)
    e.args = args
    e.__dict__.update(state)
    return e


class SpatialprogError(Exception):
    """Root of every error a user of spatialprog can cause.

    A message longer than :data:`MESSAGE_CHARS` is cut in the middle.
    """

    exit_code = 2

    def __init__(self, *args: object) -> None:
        super().__init__(*(_clip(a) for a in args))

    def __reduce__(self):
        # as it is, whatever a subclass's __init__ takes: a step run in another process
        # (spatialprog.processes, a Dask worker) raises it again in this one
        return _rebuilt, (type(self), self.args, dict(self.__dict__))


class ProjectError(SpatialprogError, ValueError):
    """The project file is missing, unreadable, or has a wrong key or value."""


class ParameterError(SpatialprogError, KeyError):
    """A parameter override names a parameter that does not exist, or has a bad value."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LayerReadError(SpatialprogError, OSError):
    """A layer file does not exist, is not readable, or is not a valid dataset."""


class CRSError(SpatialprogError, ValueError):
    """A layer has no CRS, or coordinates that do not fit its declared CRS."""


class AssignmentError(SpatialprogError, ValueError):
    """Sites cannot be assigned to substations (e.g. no substations at all)."""


class ConflictRuleError(SpatialprogError, ValueError):
    """A land-claim rule is malformed or names a layer that does not exist."""


class OutputError(SpatialprogError, OSError):
    """Outputs cannot be written (folder not writable, disk full, ...)."""


@dataclass(frozen=True)
class Problem:
    """One problem in one feature of one layer.

    Parameters
    ----------
    layer : str
        Layer kind (``housing_sites``) or the project-file key of the layer.
    message : str
        What is wrong, in words a planner understands.
    feature : str, optional
        The feature id (or row number when there is no id column).
    field : str, optional
        Our field name; ``source_field`` is the user's own column name.
    fix : str, optional
        How to fix it.
    """

    layer: str
    message: str
    feature: str | None = None
    field: str | None = None
    source_field: str | None = None
    fix: str | None = None

    def __post_init__(self) -> None:
        # a safety net: a 50 MB id or value never makes a 50 MB line
        for name in ("layer", "feature", "field", "source_field"):
            v = getattr(self, name)
            if isinstance(v, str) and (len(v) > VALUE_CHARS or not v.isprintable()):
                object.__setattr__(self, name, shorten(v))
        for name in ("message", "fix"):
            object.__setattr__(self, name, _clip(getattr(self, name)))

    def __str__(self) -> str:
        where = [self.layer]
        if self.feature is not None:
            where.append(f"feature {self.feature}")
        if self.field is not None:
            f = f"field '{self.field}'"
            if self.source_field and self.source_field != self.field:
                f += f" (column '{self.source_field}')"
            where.append(f)
        text = ", ".join(where) + ": " + self.message
        if self.fix:
            text += f" - {self.fix}"
        return text


@dataclass(frozen=True)
class Notice(Problem):
    """Something that was repaired or is worth knowing; the run goes on."""

    level: str = "warning"  # "info" | "warning"


class LayerValidationError(SpatialprogError, ValueError):
    """One or more features of a layer break its schema.

    All problems of a layer are collected first and reported together.

    Attributes
    ----------
    problems : list of Problem
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid layer"
        more = len(self.problems) - 1
        msg = first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        super().__init__(msg)

    def lines(self) -> list[str]:
        """Return one line per problem."""
        return [str(p) for p in self.problems]


@dataclass
class NoticeLog:
    """Collects notices during a run (repairs, empty layers, unassigned sites)."""

    items: list[Notice] = field(default_factory=list)

    def add(self, layer: str, message: str, **kw) -> None:
        self.items.append(Notice(layer=layer, message=message, **kw))

    def extend(self, other: NoticeLog) -> None:
        self.items.extend(other.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
