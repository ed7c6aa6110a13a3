"""The public API: every name in spatialprog.__all__ resolves."""

from __future__ import annotations

import spatialprog


def test_public_api_resolves():
    for name in spatialprog.__all__:
        assert getattr(spatialprog, name) is not None, name


def test_api_runs_the_example(example_result):
    plan = spatialprog.read_plan("layers/example_region.toml")
    result = spatialprog.compute(plan, variants=["basis"])
    a = result.headroom.set_index(["substation_id", "year", "direction"])["headroom_mw"]
    b = example_result.headroom[example_result.headroom.variant == "basis"].set_index(
        ["substation_id", "year", "direction"])["headroom_mw"]
    assert a.equals(b)
