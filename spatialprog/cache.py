"""The baseline cache: a computed check-site baseline kept on disk, keyed on the checksums of its inputs.

A check of a site in a fresh process reads the layers near the site and computes
the run without the site there (:func:`spatialprog.sitecheck.baseline.as_baseline`).
That baseline is what the run's own functions computed; this module keeps it, as
that same :class:`~spatialprog.sitecheck.Baseline` object, so that a later
process asking the same question (the same project, inputs and read request:
the same site outline, search radius, carriers and variants, whatever the
programme) loads it instead of computing it again.

An entry is never wrong, because its key holds everything the baseline
depends on:

* the SHA-256 of every input file: the project file and the files it
  extends, every layer and constraint file (a Shapefile with its side files, a
  GeoPackage with its ``-wal``), every other file the project file names (a
  variant's changes CSV, conflict rules and lookups, mapping files, the
  higher-level nodes, extra boundary layers), and every reference table in
  ``data/``;
* the project's settings as loaded (the merged project file and each layer's
  mapping), the project path as given;
* the spatialprog version and the SHA-256 of its code, the Python and
  library versions (numpy, pandas, shapely, geopandas, pyproj, pyogrio, GDAL)
  and GDAL's and PROJ's settings from the environment (``GDAL_*``, ``OGR_*``,
  ``PROJ_*``, ...);
* the request (``near`` and the sites' box, ...).

A project with a layer read from a database (``postgresql://``) is not
cacheable: nothing is read from or written to the cache for it. An entry that
cannot be read (corrupt, truncated, from another format) is ignored and
computed again; entries are written to a temporary file and renamed into
place, so a reader sees a whole entry or none. The oldest entries go when
there are more than :data:`MAX_ENTRIES` or they hold more than
:data:`MAX_BYTES`.

Where: ``$SPATIALPROG_CACHE_DIR``, else ``$XDG_CACHE_HOME/spatialprog``, else
``~/.cache/spatialprog``. Clearing it is deleting that folder (or
:func:`clear`); ``spatialprog check-site --no-cache`` neither reads nor
writes it. Entries are Python pickles, written readable by their owner only:
like any cache folder it must be the user's own, never one others can write.

Checksums of large files are remembered in ``checksums.json`` by the file's
size, modification and change times, inode and device (as ccache and git
do), so a national GeoPackage is hashed once, not at every check; a file
changed within two seconds of being hashed is not remembered, so a change in
the same clock tick is never missed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .database import is_database

__all__ = ["FORMAT", "MAX_ENTRIES", "MAX_BYTES", "cache_dir", "input_checksums", "make_key", "load", "store",
           "clear", "not_cacheable"]

#: the layout of an entry; a change makes every older entry a miss
FORMAT = 1
MAX_ENTRIES = 64
MAX_BYTES = 512 * 1024 * 1024
#: a file changed less than this long before it was hashed is hashed again next time (same clock tick)
_RACY_NS = 2_000_000_000
_MEMO = "checksums.json"
_ENV_PREFIXES = ("GDAL_", "OGR_", "CPL_", "SHAPE_", "PROJ_", "OSR_")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache folder: ``$SPATIALPROG_CACHE_DIR``, else ``$XDG_CACHE_HOME/spatialprog``, else ``~/.cache/spatialprog``.

    Parameters
    ----------
    environ : mapping, optional
        The environment (default ``os.environ``).

    Examples
    --------
    >>> str(cache_dir({"SPATIALPROG_CACHE_DIR": "/tmp/sp-cache", "XDG_CACHE_HOME": "/var/cache"}))
    '/tmp/sp-cache'
    >>> str(cache_dir({"XDG_CACHE_HOME": "/var/cache"}))
    '/var/cache/spatialprog'
    """
    env = os.environ if environ is None else environ
    own = env.get("SPATIALPROG_CACHE_DIR")
    if own:
        return Path(own).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "spatialprog"


def not_cacheable(project: Any) -> str | None:
    """Why a project's baseline cannot be cached (a layer read from a database), or None.

    Examples
    --------
    >>> from spatialprog.config import load_project
    >>> not_cacheable(load_project("layers/example_region.toml")) is None
    True
    """
    for section in ("layers", "constraints"):
        for name, lc in getattr(project.model, section).items():
            if is_database(lc.path):
                return f"{section}.{name} is read from a database"
    return None


# ---- checksums


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Memo:
    """Checksums remembered by (size, mtime, ctime, inode, device) in the cache folder."""

    def __init__(self, folder: Path):
        self.path = folder / _MEMO
        try:
            self.data: dict[str, list] = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.data, dict):
                self.data = {}
        except (OSError, ValueError):
            self.data = {}
        self.changed = False

    def sha(self, path: Path) -> str:
        st = path.stat()
        key = _stat_key(st)
        old = self.data.get(str(path))
        if isinstance(old, list) and len(old) == 6 and old[:5] == key:
            return str(old[5])
        digest = _sha256(path)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
            self.data[str(path)] = [*key, digest]
            self.changed = True
        return digest

    def save(self) -> None:
        if self.changed:
            _write_atomic(self.path, json.dumps(self.data, sort_keys=True).encode("utf-8"))


def _extends_chain(path: Path) -> list[Path]:
    """The project file and the files it extends (each named relative to the project file's folder)."""
    out = [path.resolve()]
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    while isinstance(raw, dict) and isinstance(raw.get("extends"), str):
        base = (path.parent / raw["extends"]).resolve()
        if base in out:
            break
        out.append(base)
        try:
            raw = tomllib.loads(base.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            break
    return out


def _strings(obj: Any) -> Iterable[str]:
    """Every string in a nested structure of dicts and lists (iteratively)."""
    todo = [obj]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, Mapping):
            todo.extend(v.values())
        elif isinstance(v, list | tuple):
            todo.extend(v)


def _with_side_files(path: Path) -> list[Path]:
    """A file with the files GDAL reads beside it: a Shapefile's parts, an SQLite file's journal; a folder's files."""
    if path.is_dir():  # a FileGDB or a folder of files
        return sorted(p for p in path.rglob("*") if p.is_file())
    out = [path]
    sides = [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]
    if path.suffix.lower() == ".shp":
        sides += [p for p in path.parent.glob(f"{path.stem}.*") if p != path]
    return out + sorted(p for p in sides if p.is_file())


def input_files(project: Any) -> list[Path]:
    """Every file the baseline of ``project`` depends on, resolved and sorted.

    The project file and the files it extends; every layer and constraint
    file with its side files; every other string of the project file that
    names an existing file (relative to the project's folder, or absolute);
    every file of the reference data folder.
    """
    from .params import data_dir

    files: set[Path] = set()
    if project.path is not None:
        files.update(_extends_chain(Path(project.path)))
    for src in [*project.layers.values(), *project.constraints.values()]:
        p = Path(src.path)
        if p.exists():
            files.update(_with_side_files(p.resolve()))
    root = Path(project.root)
    named = project.model.model_dump(mode="json", exclude={"outputs"})  # outputs are written, not read
    for s in _strings(named):
        if not s or len(s) > 4096 or "\n" in s or "\x00" in s:
            continue
        try:
            p = Path(s).expanduser()
            p = p if p.is_absolute() else root / p
            if p.is_file() or (p.is_dir() and p.suffix):
                files.update(_with_side_files(p.resolve()))
        except (OSError, ValueError):
            continue
    files.update(p.resolve() for p in Path(data_dir()).rglob("*") if p.is_file())
    return sorted(files)


def input_checksums(project: Any, *, folder: Path | None = None) -> dict[str, str]:
    """``{path: sha256}`` of every file :func:`input_files` lists (remembered in the cache folder)."""
    return _checksums(input_files(project), folder)[0]


def _checksums(files: Iterable[Path], folder: Path | None, *, code: bool = False) -> tuple[dict[str, str], str]:
    """The files' checksums and, with ``code``, the SHA-256 of spatialprog's own code (every ``.py`` file)."""
    memo = _Memo(folder or cache_dir())
    out = {str(p): memo.sha(p) for p in files}
    digest = ""
    if code:
        pkg = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for p in sorted(pkg.rglob("*.py")):
            h.update(f"{p.relative_to(pkg)}\0{memo.sha(p)}\0".encode())
        digest = h.hexdigest()
    try:
        memo.save()
    except OSError:
        pass
    return out, digest


def _versions() -> dict[str, str]:
    import importlib

    from . import __version__

    out = {"spatialprog": __version__, "python": sys.version.split()[0]}
    for name in ("numpy", "pandas", "shapely", "geopandas", "pyproj", "pyogrio"):
        out[name] = str(getattr(importlib.import_module(name), "__version__", ""))
    out["gdal"] = str(getattr(sys.modules["pyogrio"], "__gdal_version_string__", ""))
    return out


def make_key(project: Any, request: Mapping[str, Any], *, folder: Path | None = None) -> dict[str, Any] | None:
    """The key of a cached baseline: every input's checksum, the settings, the versions, the request.

    Returns None for a project that cannot be cached (:func:`not_cacheable`).

    Parameters
    ----------
    project : Project
        As loaded from its file (``project.path``).
    request : mapping
        What was computed from it, JSON-serialisable (e.g. ``{"near": [minx, miny, maxx, maxy], ...}``).
    folder : Path, optional
        The cache folder (default :func:`cache_dir`).
    """
    if not_cacheable(project) is not None:
        return None
    inputs, code = _checksums(input_files(project), folder, code=True)
    settings = {"model": project.model.model_dump(mode="json"),
                "layers": repr(sorted(project.layers.items())), "constraints": repr(sorted(project.constraints.items()))}
    return {
        "format": FORMAT,
        "versions": _versions(),  # (imports pyogrio, which may set GDAL's variables, before they are read)
        # GDAL's and PROJ's configuration from the environment can change what a layer reads as
        "environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith(_ENV_PREFIXES)},
        "code": code,
        "project_path": str(project.path),
        "project_file": str(Path(project.path).resolve()) if project.path is not None else None,
        "settings": hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest(),
        "inputs": inputs,
        "request": json.loads(json.dumps(dict(request), sort_keys=True)),
    }


# ---- entries


def _entry_path(key: Mapping[str, Any], folder: Path) -> Path:
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return folder / f"baseline-{name[:40]}.pickle"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(key: Mapping[str, Any] | None, *, folder: Path | None = None) -> Any | None:
    """The cached object under ``key``, or None (no entry, or one that cannot be read: it is ignored)."""
    if key is None:
        return None
    path = _entry_path(key, folder or cache_dir())
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != json.loads(
                json.dumps(key, sort_keys=True)):
            return None
        os.utime(path)  # recently used: pruned last
        return entry["value"]
    except Exception:  # a missing, corrupt, truncated or foreign entry is a miss
        return None


def store(key: Mapping[str, Any] | None, value: Any, *, folder: Path | None = None) -> Path | None:
    """Keep ``value`` under ``key`` (written whole or not at all); None when it could not be written."""
    if key is None:
        return None
    folder = folder or cache_dir()
    path = _entry_path(key, folder)
    try:
        data = pickle.dumps({"format": FORMAT, "key": json.loads(json.dumps(key, sort_keys=True)), "value": value},
                            protocol=pickle.HIGHEST_PROTOCOL)
        _write_atomic(path, data)
    except Exception:  # a read-only or full disk, an unpicklable value: no cache, no error
        return None
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    """Remove the least recently used entries beyond :data:`MAX_ENTRIES` or :data:`MAX_BYTES`."""
    try:
        entries = []
        for p in folder.glob("baseline-*.pickle"):
            st = p.stat()
            entries.append((st.st_mtime_ns, st.st_size, p))
        entries.sort(reverse=True)
        total = 0
        for k, (_, size, p) in enumerate(entries):
            total += size
            if k >= MAX_ENTRIES or total > MAX_BYTES:
                p.unlink(missing_ok=True)
    except OSError:
        pass


def clear(*, folder: Path | None = None) -> int:
    """Remove every cached baseline and remembered checksum; return how many files were removed."""
    folder = folder or cache_dir()
    n = 0
    for p in [*folder.glob("baseline-*.pickle"), *folder.glob(".baseline-*.tmp"), folder / _MEMO]:
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n
