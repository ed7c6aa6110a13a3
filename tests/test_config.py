"""The project file: validation with errors that point at the key."""

from __future__ import annotations

import pytest

from spatialprog.config import load_project, project_from_dict
from spatialprog.errors import ProjectError

BASE = {"layers": {"substations": {"path": "x.gpkg"}}}


def with_(**kw):
    d = {"layers": {"substations": {"path": "x.gpkg"}}}
    d.update(kw)
    return d


def test_minimal_project_defaults():
    p = project_from_dict(BASE)
    assert p.crs == "EPSG:28992"
    assert p.years[0] == 2025 and p.years[-1] == 2040
    assert list(p.variants) == ["basis"]


def test_unknown_top_level_key_names_it():
    with pytest.raises(ProjectError, match=r"project: layerz: unknown key 'layerz'"):
        project_from_dict({**BASE, "layerz": {}})


def test_unknown_key_in_layer_names_the_path():
    with pytest.raises(ProjectError, match=r"layers\.substations\.pth: unknown key 'pth'"):
        project_from_dict({"layers": {"substations": {"path": "x", "pth": "y"}}})


def test_wrong_type_names_the_key():
    with pytest.raises(ProjectError, match=r"project\.base_year: .*integer"):
        project_from_dict(with_(project={"base_year": "twenty"}))


def test_horizon_backwards():
    with pytest.raises(ProjectError, match=r"project: horizon \[2040, 2025\] ends before it starts"):
        project_from_dict(with_(project={"horizon": [2040, 2025]}))


def test_geographic_working_crs_refused():
    with pytest.raises(ProjectError, match="must be projected"):
        project_from_dict(with_(project={"crs": "EPSG:4326"}))


def test_unknown_layer_kind():
    with pytest.raises(ProjectError, match="layers.windmills: unknown layer kind"):
        project_from_dict({"layers": {"substations": {"path": "x"}, "windmills": {"path": "y"}}})


def test_substations_required():
    with pytest.raises(ProjectError, match="layers.substations: required"):
        project_from_dict({"layers": {"housing_sites": {"path": "y"}}})


def test_parameter_override_and_unknown_parameter_with_suggestion():
    p = project_from_dict(with_(parameters={"growth.offtake_pct_per_year": 2.0}))
    assert p.parameters["growth.offtake_pct_per_year"] == 2.0
    assert p.parameters.describe("growth.offtake_pct_per_year").origin == "project"
    with pytest.raises(ProjectError, match=r"\[parameters\]: unknown parameter 'growth.ofttake_pct_per_year'; did you "
                                           r"mean 'growth.offtake_pct_per_year'\?"):
        project_from_dict(with_(parameters={"growth.ofttake_pct_per_year": 2.0}))


def test_variant_overriding_unknown_parameter_names_the_variant():
    with pytest.raises(ProjectError, match=r"\[variants.hoog.parameters\]: unknown parameter 'nope'"):
        project_from_dict(with_(variants={"hoog": {"parameters": {"nope": 1}}}))


def test_variant_parameter_wrong_type_and_negative():
    with pytest.raises(ProjectError, match="must be a number"):
        project_from_dict(with_(variants={"v": {"parameters": {"demand.ev_kw_per_ev": "veel"}}}))
    with pytest.raises(ProjectError, match="must be a finite number >= 0"):
        project_from_dict(with_(parameters={"demand.ev_kw_per_ev": -1}))


def test_variants_stack_on_project_overrides():
    p = project_from_dict(with_(parameters={"demand.ev_kw_per_ev": 2.0},
                                variants={"v": {"parameters": {"growth.offtake_pct_per_year": 0.0}}}))
    assert p.variants["v"]["demand.ev_kw_per_ev"] == 2.0
    assert p.variants["v"]["growth.offtake_pct_per_year"] == 0.0
    assert p.variants["basis"]["growth.offtake_pct_per_year"] == 1.5


def test_nested_parameter_tables_are_accepted():
    p = project_from_dict(with_(parameters={"demand": {"dwelling_kw": {"gas": 2.0}}}))
    assert p.parameters["demand.dwelling_kw.gas"] == 2.0


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[project\nname = 1")
    with pytest.raises(ProjectError, match="bad.toml: not valid TOML"):
        load_project(bad)


def test_unknown_ready_mapping():
    with pytest.raises(ProjectError, match="no mapping 'vivit' - use a ready one \\(vivet\\)"):
        project_from_dict({"layers": {"substations": {"path": "x", "mapping": "vivit"}}})


def test_example_project_loads(example_project):
    p = load_project(example_project)
    assert p.fictional
    assert list(p.variants) == ["basis", "hoog", "vertraagd"]
    assert p.layers["housing_sites"].columns["dwellings"] == "woningen"


def test_a_project_extends_another(tmp_path):
    from spatialprog.config import load_project

    (tmp_path / "a.toml").write_text('[project]\nname = "A"\nbase_year = 2025\n[layers.substations]\npath = "s.gpkg"\n'
                                     '[variants.x]\ndescription = "x"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n[project]\nname = "B"\n[variants.y]\ndescription = "y"\n',
                                     encoding="utf-8")
    p = load_project(tmp_path / "b.toml")
    assert p.name == "B" and p.base_year == 2025 and set(p.variants) == {"basis", "x", "y"} and "substations" in p.layers
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="extends: 'b.toml' extends itself - remove the loop"):
        load_project(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text('extends = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="extends: '.*nope.toml' does not exist"):
        load_project(tmp_path / "c.toml")
