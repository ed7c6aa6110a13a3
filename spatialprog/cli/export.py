"""``spatialprog export``: the QGIS hand-off (GeoPackage + project) and PostGIS."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from .options import computed_project, console, lit


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_from_manifest(manifest: dict) -> tuple[dict | None, str]:
    """Re-read the validated input layers of a finished run, when its project file is unchanged.

    Returns
    -------
    (dict of GeoDataFrame or None, str)
        The layers, or None with the reason they were left out.
    """
    from ..pipeline import read_plan

    proj = next((i for i in manifest.get("inputs", []) if i.get("role") == "project"), None)
    if proj is None or not Path(proj["path"]).is_file():
        return None, "the project file of the run is not available"
    p = Path(proj["path"])
    if proj.get("sha256") and _sha256(p) != proj["sha256"]:
        return None, f"{p} changed since the run"
    for i in manifest.get("inputs", []):
        src = Path(str(i.get("path", "")))
        if i.get("sha256") and src.is_file() and _sha256(src) != i["sha256"]:
            return None, f"input {src} changed since the run"
    return read_plan(p).layers, ""


def _write_qgis(outputs, dest: Path, *, inputs, qgz: bool) -> Path:
    """``export_qgis``; into an output folder of spatialprog (a run's) through its all-or-nothing swap.

    The folder is staged beside itself with the GeoPackage (and .qgz) added,
    and replaced as a whole, so its manifest lists them and a failure leaves
    it as it was.
    """
    from ..export import export_qgis
    from ..folders import atomic_output_dir
    from ..writer import manifest_kind

    if manifest_kind(dest.parent) is None:
        return export_qgis(outputs, dest, inputs=inputs, qgz=qgz)
    with atomic_output_dir(dest.parent, add=True, kind="export") as stage:
        export_qgis(outputs, stage / dest.name, inputs=inputs, qgz=qgz)
    return dest


@click.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True), metavar="PROJECT.toml|OUT_DIR")
@click.option("--qgis", "qgis_dest", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="GeoPackage to write (with styles and a QGIS project; a .qgz is written beside it). "
                   "Default for an OUT_DIR: OUT_DIR/spatialprog.gpkg.")
@click.option("--postgis", "dsn", default=None, metavar="DSN",
              help="Also write to PostgreSQL + PostGIS, e.g. postgresql://user@host:5432/db, or env:NAME (the URL "
                   "in environment variable NAME).")
@click.option("--schema", default="spatialprog", show_default=True, help="PostgreSQL schema for --postgis.")
@click.option("--no-qgz", is_flag=True, help="Do not write the .qgz beside the GeoPackage.")
def export(source: Path, qgis_dest: Path | None, dsn: str | None, schema: str, no_qgz: bool) -> None:
    """Export a run for QGIS: one GeoPackage with styles and a QGIS project.

    SOURCE is a project file (the run and its programme are computed in
    memory, nothing else is written) or the output folder of 'spatialprog
    run' (read back, not recomputed; the input layers are re-read from its
    project file when that is unchanged).

    \b
    Examples:
      spatialprog export layers/example_region.toml --qgis out/spatialprog.gpkg
      spatialprog export out/
      spatialprog export out/ --postgis postgresql://postgres@localhost/plan
    """
    from ..export import export_postgis
    from ..outputs import RunOutputs

    if source.is_dir():
        with console.status("reading the run ..."):
            outputs = RunOutputs.read(source)
            inputs, why = inputs_from_manifest(outputs.manifest)
        if inputs is None:
            console.print(f"[yellow]note:[/] input layers not exported: {lit(why)}", soft_wrap=True)
        if qgis_dest is None and dsn is None:
            qgis_dest = source / "spatialprog.gpkg"
    elif source.suffix.lower() == ".toml":
        if qgis_dest is None and dsn is None:
            raise click.BadParameter("give --qgis DEST.gpkg and/or --postgis DSN", param_hint="--qgis")
        from ..workflow import outputs_of

        with console.status("computing ...") as status:
            plan, result, ranking = computed_project(source, status, hint="PROJECT.toml|OUT_DIR")
            outputs = outputs_of(result, ranking)  # with the ranking, as a run folder has it
        inputs = plan.layers
    else:
        raise click.BadParameter("must be a project file (.toml) or the output folder of a run",
                                 param_hint="PROJECT.toml|OUT_DIR")
    if qgis_dest is not None:
        if qgis_dest.suffix.lower() != ".gpkg":
            raise click.BadParameter("must end in .gpkg", param_hint="--qgis")
        with console.status("writing the GeoPackage ..."):
            path = _write_qgis(outputs, qgis_dest, inputs=inputs, qgz=not no_qgz)
        extra = "" if no_qgz else f" and {path.with_suffix('.qgz').name}"
        console.print(f"[bold green]wrote[/] {lit(path)}{lit(extra)} - drag it into QGIS, or open the project",
                      soft_wrap=True)
    if dsn is not None:
        with console.status("writing to PostGIS ..."):
            tables = export_postgis(outputs, dsn, schema=schema, inputs=inputs)
        console.print(f"[bold green]wrote[/] {len(tables)} tables to PostGIS schema '{lit(schema)}'")
