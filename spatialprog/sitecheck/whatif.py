"""What-if sessions and the public check functions: add, move and remove sites; check them in order.

Several sites are checked in a stated order, each seeing the demand of the
ones before it (:func:`check_sites`); :class:`WhatIf` keeps a session in which
sites are added, moved and removed, indexed in an insertable ``rtree`` index,
and re-checked without recomputing the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import fields as F
from ..config import Project, load_project
from ..errors import LayerValidationError, NoticeLog
from ..pipeline import Plan, RunResult
from .baseline import Baseline, as_baseline
from .evaluate import TOUCH_M2, SiteEntry, evaluate, make_entry, site_name
from .result import SiteCheck, round_json
from .sites import DEFAULT_CRS, read_sites, site_problem

__all__ = ["WhatIf", "check_site", "check_sites"]

_r = round_json


class WhatIf:
    """An interactive what-if session: add, move and remove sites; re-check instantly.

    The baseline is computed once. Every added site keeps its own demand split
    over its substations; an insertable ``rtree`` index holds each site's grid
    footprint (its outline plus the substations serving it), so a check finds
    the earlier sites loading the same substations, and the candidate sites it
    overlaps, without a rebuild. Each site sees the demand of the sites added
    before it (their order is kept when a site moves).

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline
    variants : list of str, optional
        Default: every variant of the run.

    Examples
    --------
    >>> from spatialprog.pipeline import compute, read_plan
    >>> w = WhatIf(compute(read_plan("layers/example_region.toml")))
    >>> a = w.add("173000,433000,200", {"dwellings": 300, "heating": "all_electric", "ev_share": 0.5,
    ...                                 "start_year": 2030}, site_id="P")
    >>> b = w.add("175000,434500,200", {"dwellings": 300, "heating": "all_electric", "ev_share": 0.5,
    ...                                 "start_year": 2030}, site_id="Q")
    >>> [w.check(s).verdict.en for s in w.sites]
    ['fits', 'does not fit within the horizon']
    >>> w.remove("P")
    >>> w.check("Q").verdict.en
    'fits'
    """

    def __init__(self, plan_or_result: RunResult | Plan | Baseline, *, variants: Sequence[str] | None = None):
        from rtree import index

        self.baseline = as_baseline(plan_or_result, variants=variants)
        self._index = index.Index(interleaved=True)
        self._entries: dict[str, SiteEntry] = {}
        self._by_rid: dict[int, SiteEntry] = {}
        self._next_rid = 0
        self._next_order = 0
        self._input_notices: dict[str, list[str]] = {}

    # ---- bookkeeping
    @property
    def sites(self) -> list[str]:
        """Ids of the sites in the session, in check order."""
        return [e.sid for e in sorted(self._entries.values(), key=lambda e: e.order)]

    def __len__(self) -> int:
        return len(self._entries)

    def _insert(self, e: SiteEntry) -> None:
        self._entries[e.sid] = e
        self._by_rid[e.rid] = e
        self._index.insert(e.rid, e.footprint)

    def _delete(self, e: SiteEntry) -> None:
        self._index.delete(e.rid, e.footprint)
        del self._by_rid[e.rid]
        del self._entries[e.sid]

    def _read(self, geometry: Any, programme: Mapping[str, Any] | None, *, crs: str | None, radius_m: float | None,
              kind: str | None, site_id: str | None) -> tuple[str, gpd.GeoDataFrame, list[str]]:
        log = NoticeLog()
        prog = dict(programme or {})
        if site_id is not None:
            prog["id"] = site_id
        k, frame = read_sites(geometry, prog, crs=crs, radius_m=radius_m, kind=kind,
                              working_crs=self.baseline.project.crs, notices=log)
        return k, frame, [str(n) for n in log]

    def add(self, geometry: Any, programme: Mapping[str, Any] | None = None, *, crs: str | None = None,
            radius_m: float | None = None, kind: str | None = None, site_id: str | None = None) -> str | list[str]:
        """Add one site (or every feature of a file); return its id (or their ids).

        Parameters are those of :func:`read_sites`; ``site_id`` names the site.

        Raises
        ------
        LayerValidationError
            For an invalid site, or an id already in the session.
        """
        k, frame, msgs = self._read(geometry, programme, crs=crs, radius_m=radius_m, kind=kind, site_id=site_id)
        ids = self.add_frame(k, frame, notices=msgs)
        return ids[0] if len(ids) == 1 else ids

    def add_frame(self, kind: str, frame: gpd.GeoDataFrame, *, notices: Sequence[str] = ()) -> list[str]:
        """Add the features of a validated site layer (from :func:`read_sites`), in their order."""
        dup = [str(i) for i in frame["id"] if str(i) in self._entries]
        if dup:
            raise LayerValidationError([site_problem(f"id '{d}' is already in the session", "give another id, or "
                                                      "move/remove the existing site", d, "id") for d in dup])
        ids = []
        for i in range(len(frame)):
            row = frame.iloc[[i]].reset_index(drop=True)
            row.attrs = dict(frame.attrs)
            e = make_entry(self.baseline, kind, row, self._next_order, self._next_rid)
            self._next_order += 1
            self._next_rid += 1
            self._insert(e)
            self._input_notices[e.sid] = list(notices)
            ids.append(e.sid)
        return ids

    def move(self, site_id: str, geometry: Any, *, crs: str | None = None, radius_m: float | None = None) -> None:
        """Move a site to a new outline; its programme and its place in the order stay."""
        e = self._get(site_id)
        prog = {c: e.frame[c].iloc[0] for c in e.frame.columns if c != "geometry" and pd.notna(e.frame[c].iloc[0])}
        if e.frame.attrs.get("priority_category"):
            prog["priority_category"] = e.frame.attrs["priority_category"]
        k, frame, msgs = self._read(geometry, prog, crs=crs, radius_m=radius_m, kind=e.kind, site_id=site_id)
        if len(frame) != 1:
            raise LayerValidationError([site_problem("a site moves to one outline, not several",
                                                      "give one geometry", site_id, "geometry")])
        new = make_entry(self.baseline, k, frame, e.order, e.rid)
        self._delete(e)
        self._insert(new)
        self._input_notices[site_id] = msgs

    def remove(self, site_id: str) -> None:
        """Remove a site; later sites no longer see its demand."""
        self._delete(self._get(site_id))
        self._input_notices.pop(site_id, None)

    def _get(self, site_id: str) -> SiteEntry:
        try:
            return self._entries[site_id]
        except KeyError:
            raise LayerValidationError([site_problem(f"no site '{site_id}' in the session",
                                                      f"use one of: {', '.join(self.sites) or '(none yet)'}",
                                                      site_id, "id")]) from None

    def order_of(self, e: SiteEntry) -> int | None:
        """The place (1, 2, ...) of a session site in the check order; None for a site checked without adding it."""
        return self.sites.index(e.sid) + 1 if self._entries.get(e.sid) is e else None

    def nearby(self, bounds: Sequence[float]) -> list[str]:
        """Ids of session sites whose grid footprint meets ``bounds`` (an rtree query)."""
        return [self._by_rid[r].sid for r in sorted(self._index.intersection(tuple(bounds)))]

    # ---- checks
    def check(self, site_id: str) -> SiteCheck:
        """Check one site of the session, seeing the demand of the sites before it."""
        e = self._get(site_id)
        return evaluate(self, e, self._input_notices.get(site_id, []))

    def check_all(self) -> list[SiteCheck]:
        """Check every site in order; each sees the demand of the ones before it."""
        return [self.check(s) for s in self.sites]

    def check_new(self, geometry: Any, programme: Mapping[str, Any] | None = None, *, crs: str | None = None,
                  radius_m: float | None = None, kind: str | None = None, site_id: str | None = None) -> SiteCheck:
        """Check a site on top of every site in the session, without adding it."""
        k, frame, msgs = self._read(geometry, programme, crs=crs, radius_m=radius_m, kind=kind, site_id=site_id)
        if len(frame) != 1:
            raise LayerValidationError([site_problem(f"{len(frame)} features given; check_new takes one",
                                                      "add them with add(), then check_all()")])
        e = make_entry(self.baseline, k, frame, self._next_order, -1)
        return evaluate(self, e, msgs)

    def prior_load(self, e: SiteEntry, sub_idx: np.ndarray) -> tuple[dict[str, dict[str, np.ndarray]], list[str]]:
        """MW that earlier session sites put on each of ``sub_idx``, per variant, direction and year."""
        base = self.baseline
        out = {v: {d: np.zeros((len(sub_idx), len(base.years))) for d in F.DIRECTIONS} for v in base.variants}
        if not len(sub_idx) or not len(self._entries):
            return out, []
        local = {int(s): k for k, s in enumerate(sub_idx)}
        cand: set[int] = set()
        for x, y in base.sub_xy[sub_idx]:
            cand.update(self._index.intersection((x, y, x, y)))
        seen = []
        for rid in sorted(cand):
            o = self._by_rid.get(rid)
            if o is None or o.sid == e.sid or o.order >= e.order:
                continue
            hit = False
            for j, s in enumerate(o.sub_idx):
                k = local.get(int(s))
                if k is None:
                    continue
                for v in base.variants:
                    for d in F.DIRECTIONS:
                        out[v][d][k] += o.alloc[v][d][j]
                hit = hit or (k < len(e.sub_idx))
            if hit:
                seen.append(o)
        return out, [o.sid for o in sorted(seen, key=lambda o: o.order)]

    def prior_carrier_load(self, e: SiteEntry, carrier: str, direction: str, node_ids: Sequence[str]
                           ) -> dict[str, np.ndarray]:
        """MW that earlier session sites put on the nodes ``node_ids`` of ``carrier``, per variant and year.

        A carrier has few nodes, far apart: every earlier site is looked at (no spatial index).
        """
        base = self.baseline
        local = {n: k for k, n in enumerate(node_ids)}
        out = {v: np.zeros((len(node_ids), len(base.years))) for v in base.variants}
        for o in self._entries.values():
            part = o.carriers.get(carrier)
            if part is None or o.sid == e.sid or o.order >= e.order:
                continue
            for v in base.variants:
                if v not in part["alloc"]:
                    continue
                for j, n in enumerate(part["ids"][v][direction]):
                    k = local.get(n)
                    if k is not None:
                        out[v][k] += part["alloc"][v][direction][j]
        return out

    def overlapping(self, e: SiteEntry) -> list[dict[str, Any]]:
        """Other session sites whose outline shares area with ``e``'s."""
        g = e.geometry
        out = []
        for rid in sorted(self._index.intersection(shapely.bounds(g).tolist())):
            o = self._by_rid.get(rid)
            if o is None or o.sid == e.sid:
                continue
            a = shapely.area(shapely.intersection(g, o.geometry))
            if a > TOUCH_M2:
                out.append({"layer": "candidate", "id": o.sid, "name": site_name(o.frame), "area_m2": _r(a, 1),
                            "share_of_site": _r(a / max(shapely.area(g), 1e-9), 4)})
        return out





def check_sites(
    plan_or_result: RunResult | Plan | Baseline | Project | str | Path,
    geometry: Any,
    programme: Mapping[str, Any] | None = None,
    *,
    crs: str | None = None,
    variants: Sequence[str] | None = None,
    radius_m: float | None = None,
    kind: str | None = None,
    layer: str | None = None,
    search_radius_m: float | None = None,
    cache: bool = False,
) -> list[SiteCheck]:
    """Check several sites in their order; each sees the demand of the ones before it.

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline, Project or path
        A computed run (fastest for repeated checks), a plan (computed here), or
        a project: then only what is near the sites is read
        (:func:`read_plan_near`).
    geometry : file, text, geometry or list of them
        See :func:`read_sites`. A list is checked in its order, each item's
        features in file order.
    programme : mapping, optional
        Applies to every site (see :func:`read_sites`).
    crs, radius_m, kind, layer
        See :func:`read_sites`.
    variants : list of str, optional
        The first is the headline variant; default every variant, base first.
    search_radius_m : float, optional
        For a project path: how far around the sites to read.
    cache : bool, default False
        For a project path: look the baseline up in the user's baseline cache,
        or keep it there (:mod:`spatialprog.cache`; ``spatialprog check-site``
        turns it on unless ``--no-cache``).

    Returns
    -------
    list of SiteCheck
    """
    items = list(geometry) if isinstance(geometry, list | tuple) else [geometry]
    wcrs = _working_crs(plan_or_result)
    log_frames = []
    for item in items:
        log = NoticeLog()
        k, frame = read_sites(item, programme, crs=crs, radius_m=radius_m, kind=kind, layer=layer, working_crs=wcrs,
                              notices=log)
        log_frames.append((k, frame, [str(n) for n in log]))
    frames = [f for _, f, _ in log_frames]
    allids = [str(i) for f in frames for i in f["id"]]
    if len(set(allids)) < len(allids):  # several sites without ids: number them in order
        n = 0
        for _, f, _ in log_frames:
            ids = []
            for i in f["id"]:
                n += 1
                ids.append(f"site-{n}" if str(i).startswith("site-") else f"{i}-{n}")
            f["id"] = ids
    near = pd.concat([f[["geometry"]] for f in frames], ignore_index=True)
    base = as_baseline(plan_or_result, variants=variants, near=gpd.GeoDataFrame(near, crs=wcrs),
                        search_radius_m=search_radius_m, sites=[(k, f) for k, f, _ in log_frames], cache=cache)
    w = WhatIf(base)
    for k, f, msgs in log_frames:
        w.add_frame(k, f, notices=msgs)
    return w.check_all()


def check_site(
    plan_or_result: RunResult | Plan | Baseline | Project | str | Path,
    geometry: Any,
    programme: Mapping[str, Any] | None = None,
    *,
    crs: str | None = None,
    variants: Sequence[str] | None = None,
    radius_m: float | None = None,
    kind: str | None = None,
    search_radius_m: float | None = None,
    cache: bool = False,
) -> SiteCheck:
    """Does this one site fit on the grid, and from when?

    Parameters
    ----------
    plan_or_result : RunResult, Plan, Baseline, Project or path
        See :func:`check_sites`.
    geometry : str, path or geometry
        One site: a file with one feature, GeoJSON, WKT, ``"x,y"`` /
        ``"x,y,radius"``, or a shapely geometry.
    programme : mapping
        E.g. ``{"dwellings": 400, "heating": "all_electric", "ev_share": 0.5,
        "start_year": 2028, "end_year": 2031}``.
    crs : str, optional
        Of the coordinates (default EPSG:28992; ``"EPSG:4326"`` for lon/lat).
    variants : list of str, optional
    radius_m, kind, search_radius_m
        See :func:`read_sites` and :func:`read_plan_near`.
    cache : bool, default False
        See :func:`check_sites`.

    Returns
    -------
    SiteCheck

    Examples
    --------
    >>> c = check_site("layers/example_region.toml", "120000,480000,200",
    ...                {"dwellings": 50, "heating": "gas", "start_year": 2027})
    >>> c.verdict.key, c.serving
    ('outside', [])
    """
    checks = check_sites(plan_or_result, geometry, programme, crs=crs, variants=variants, radius_m=radius_m,
                         kind=kind, search_radius_m=search_radius_m, cache=cache)
    if len(checks) != 1:
        raise LayerValidationError([site_problem(
            f"{len(checks)} features given; check_site checks one", "use check_sites() for several sites "
            "(each sees the ones before it)")])
    return checks[0]


def _working_crs(obj: Any) -> str:
    if isinstance(obj, Baseline | Plan):
        return obj.project.crs
    if isinstance(obj, RunResult):
        return obj.project.crs
    if isinstance(obj, Project):
        return obj.crs
    if isinstance(obj, str | Path):
        return load_project(obj).crs
    return DEFAULT_CRS


