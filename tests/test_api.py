"""The public API: every name in spatialprog.__all__ resolves."""

from __future__ import annotations

import pytest

import spatialprog


def test_public_api_resolves():
    for name in spatialprog.__all__:
        assert getattr(spatialprog, name) is not None, name


def test_api_runs_the_example(example_result):
    plan = spatialprog.read_plan("layers/example_region.toml")
    result = spatialprog.compute(plan, variants=["basis"])
    assert set(result.headroom["variant"]) == {"basis"}
    a = result.headroom.set_index(["substation_id", "year", "direction"])["headroom_mw"]
    # by hand (test_example_region.py): OS06 0.6734799 MW left in 2030, OS07 0.0952459 MW short in 2028
    assert a[("OS06", 2030, "offtake")] == pytest.approx(0.6734799, abs=1e-6)
    assert a[("OS07", 2028, "offtake")] == pytest.approx(-0.0952459, abs=1e-6)
    # one variant alone gives the numbers it gives among all variants
    b = example_result.headroom[example_result.headroom.variant == "basis"].set_index(
        ["substation_id", "year", "direction"])["headroom_mw"]
    assert a.equals(b)
