"""Tree <-> records (pypetx.records), the form the store persists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pypetx.parameters import ArrayParameter, PickleParameter, PickleResult, Result
from pypetx.trajectory import ParameterGroup, Trajectory

RECORD_KEYS = {"path", "type", "kind", "value", "comment", "units", "annotations", "tags",
               "target", "explored", "class"}


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("rec", comment="records")
    ncars = traj.add_parameter("traffic.ncars", 42, comment="number of cars")
    ncars.set_annotations(source="survey")
    ncars.add_tags("traffic")
    traj.parameters.traffic.comment = "road traffic"
    traj.parameters.traffic.set_annotations(city="Berlin")
    traj.add_parameter(ArrayParameter, "w", np.arange(3.0), units="V")
    traj.add_parameter("frame", pd.DataFrame({"a": [1, 2]}))
    traj.add_parameter(PickleParameter, "obj", {1, 2})
    traj.add_derived_parameter("density", 4.2)
    traj.add_config("seed", 7)
    traj.add_result("stats", mean=1.0, std=0.5, comment="summary", units="s")
    traj.add_result(PickleResult, "blob", {3})
    traj.add_link("cars", "traffic.ncars")
    traj.add_link("results.weights", "w")
    return traj


def by_path(records):
    return {(r["path"], r.get("item")): r for r in records}


def test_record_shape(traj):
    records = traj.to_records()
    assert all(RECORD_KEYS <= set(r) for r in records)
    rec = by_path(records)[("parameters.traffic.ncars", None)]
    assert rec == {
        "path": "parameters.traffic.ncars", "type": "parameter", "kind": "scalar",
        "value": 42, "comment": "number of cars", "units": None,
        "annotations": {"source": "survey"}, "tags": ["traffic"], "target": None,
        "explored": False, "class": "Parameter",
    }
    # everything but the value is JSON-able
    json.dumps([{k: v for k, v in r.items() if k != "value"} for r in records])


def test_record_types_and_parents_first(traj):
    records = traj.to_records()
    types = {r["path"]: r["type"] for r in records if "item" not in r}
    assert types["parameters"] == "group"
    assert types["parameters.traffic"] == "group"
    assert types["derived_parameters.density"] == "derived"
    assert types["config.seed"] == "config"
    assert types["cars"] == "link"
    paths = [r["path"] for r in records]
    assert paths.index("parameters.traffic") < paths.index("parameters.traffic.ncars")


def test_result_gives_one_record_per_item(traj):
    recs = by_path(traj.to_records())
    mean = recs[("results.stats", "mean")]
    std = recs[("results.stats", "std")]
    assert (mean["type"], mean["kind"], mean["value"]) == ("result", "scalar", 1.0)
    assert std["value"] == 0.5 and std["units"] == "s" and std["comment"] == "summary"
    assert recs[("results.blob", "blob")]["kind"] == "pickle"


def test_link_records_carry_only_path_and_target(traj):
    recs = by_path(traj.to_records())
    cars = recs[("cars", None)]
    assert cars["target"] == "parameters.traffic.ncars"
    assert cars["comment"] == "" and cars["annotations"] == {} and cars["tags"] == []
    assert recs[("results.weights", None)]["target"] == "parameters.w"


def test_explored_flag(traj):
    traj.explore({"ncars": [1, 2]})
    rec = by_path(traj.to_records())[("parameters.traffic.ncars", None)]
    assert rec["explored"] is True
    assert rec["value"] == 42  # the default, not a run's value


def test_roundtrip(traj):
    records = traj.to_records()
    attrs = {"name": "rec", "comment": "records", "timestamp": 1700000000.5}
    back = Trajectory.from_records(records, attrs)
    assert back.name == "rec" and back.comment == "records"
    assert back.v_timestamp == 1700000000.5
    assert back.to_records().__len__() == len(records)
    for a, b in zip(records, back.to_records()):
        va, vb = a.pop("value"), b.pop("value")
        assert a == b
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb)
        elif isinstance(va, pd.DataFrame):
            pd.testing.assert_frame_equal(va, vb)
        else:
            assert va == vb


def test_roundtrip_rebuilds_classes_and_navigation(traj):
    back = Trajectory.from_records(traj.to_records(), {"name": "rec"})
    assert back.ncars == 42
    assert back.cars == 42
    assert back.get("cars") is back.get("parameters.traffic.ncars")
    assert back.results.get("weights") is back.get("w")
    assert isinstance(back.get("w"), ArrayParameter)
    assert isinstance(back.parameters.traffic, ParameterGroup)
    assert back.get("w").units == "V"
    assert back.get("obj").kind == "pickle"
    assert isinstance(back.get("blob"), PickleResult)
    assert back.results.stats.mean == 1.0
    assert isinstance(back.get("stats"), Result)
    assert back.parameters.traffic.annotations == {"city": "Berlin"}
    assert back.parameters.traffic.comment == "road traffic"
    assert back.get("ncars").tags == {"traffic"}
    assert back.get("density").full_name == "derived_parameters.density"


def test_empty_trajectory_roundtrip():
    records = Trajectory("e").to_records()
    assert [r["path"] for r in records] == [
        "config", "parameters", "derived_parameters", "results"]
    back = Trajectory.from_records(records, {})
    assert back.name == "trajectory"
    assert len(list(back.iter_leaves())) == 0
