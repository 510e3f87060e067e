"""The tree (pypetx.tree): groups, natural naming, shortcuts, names, links, metadata, find."""

from __future__ import annotations

import copy
import pickle

import pytest

from pypetx.errors import (
    AmbiguousNameError,
    InvalidNameError,
    LinkError,
    NodeExistsError,
    NodeNotFoundError,
)
from pypetx.parameters import Parameter, Result
from pypetx.trajectory import ParameterGroup, ResultGroup, Trajectory
from pypetx.tree import Group, Leaf, validate_name, validate_path


@pytest.fixture
def traj() -> Trajectory:
    traj = Trajectory("tree", comment="a tree for tests")
    traj.add_parameter("traffic.ncars", 42, comment="cars on the road")
    traj.add_parameter("traffic.speed", 13.5, units="m/s")
    traj.add_parameter("x", 1.0)
    traj.add_parameter("neuron.tau", 0.01)
    traj.add_parameter("synapse.tau", 0.005)
    traj.add_result("z", 3)
    return traj


# -- structure ---------------------------------------------------------------------------


def test_standard_top_groups_in_pypet_order():
    traj = Trajectory()
    assert [g.name for g in traj] == ["config", "parameters", "derived_parameters", "results"]
    assert isinstance(traj.parameters, ParameterGroup)
    assert isinstance(traj.results, ResultGroup)


def test_dotted_paths_create_intermediate_groups(traj):
    traffic = traj.parameters.traffic
    assert isinstance(traffic, ParameterGroup)
    assert traffic.full_name == "parameters.traffic"
    assert traffic.name == "traffic"
    assert sorted(traffic.children()) == ["ncars", "speed"]
    assert traj.get("parameters.traffic.ncars").full_name == "parameters.traffic.ncars"
    assert traj.get("parameters.traffic.ncars").root is traj


def test_add_group_keeps_the_group_class_and_comment(traj):
    g = traj.add_group("parameters.brain.cortex", comment="layer 4")
    assert isinstance(g, ParameterGroup)
    assert isinstance(traj.parameters.brain, ParameterGroup)
    assert g.comment == "layer 4"
    # adding it again returns the same group and may update the comment
    assert traj.parameters.add_group("brain.cortex", comment="L4") is g
    assert g.comment == "L4"


def test_add_group_over_a_leaf_is_refused(traj):
    with pytest.raises(NodeExistsError, match="parameters.x already exists"):
        traj.add_group("parameters.x")
    with pytest.raises(NodeExistsError, match="is a leaf, not a group"):
        traj.add_parameter("x.y", 1)


def test_duplicate_leaf_is_refused(traj):
    with pytest.raises(NodeExistsError, match="parameters.traffic.ncars already exists"):
        traj.add_parameter("traffic.ncars", 1)


# -- natural naming ------------------------------------------------------------------------


def test_natural_naming_full_paths_and_items(traj):
    assert traj.parameters.traffic.ncars == 42
    assert traj["traffic.ncars"] == 42
    assert traj["parameters.traffic.ncars"] == 42
    assert traj.parameters["traffic.speed"] == 13.5


def test_abbreviations(traj):
    assert traj.par.x == 1.0
    assert traj.res.z == 3
    assert traj["par.traffic.ncars"] == 42
    assert traj.dpar is traj.derived_parameters
    assert traj.conf is traj.config


def test_unique_shortcut_anywhere_in_the_tree(traj):
    assert traj.ncars == 42
    assert traj.traffic.ncars == 42
    assert traj.parameters.speed == 13.5
    assert traj.z == 3


def test_ambiguous_shortcut_lists_candidates(traj):
    with pytest.raises(AmbiguousNameError) as info:
        _ = traj.tau
    msg = str(info.value)
    assert "'tau' is ambiguous" in msg
    assert "parameters.neuron.tau" in msg and "parameters.synapse.tau" in msg
    assert "longer path" in msg
    # a longer path resolves it
    assert traj.neuron.tau == 0.01
    assert traj["synapse.tau"] == 0.005


def test_shortcut_below_a_group_only_sees_that_subtree(traj):
    traj.add_result("stats.tau", 9)
    assert traj.results.tau == 9  # unique below results, ambiguous from the root
    with pytest.raises(AmbiguousNameError):
        _ = traj.parameters.tau


def test_unknown_name_suggests_close_names(traj):
    with pytest.raises(NodeNotFoundError) as info:
        _ = traj.ncar
    msg = str(info.value)
    assert "no node named 'ncar' in the trajectory" in msg
    assert "did you mean" in msg and "'ncars'" in msg
    # NodeNotFoundError is an AttributeError (hasattr works) and a KeyError
    assert not hasattr(traj, "ncar")
    with pytest.raises(KeyError):
        traj["nothing.here"]


def test_leaf_has_no_children(traj):
    with pytest.raises(NodeNotFoundError, match="'parameters.x' is a leaf; it has no child 'y'"):
        traj.get("parameters.x.y")


def test_get_with_default_and_without_shortcuts(traj):
    assert traj.get("nope", None) is None
    assert traj.get("ncars").value == 42
    with pytest.raises(NodeNotFoundError):
        traj.get("ncars", shortcuts=False)
    assert traj.get("ncars", "fallback", shortcuts=False) == "fallback"


def test_fast_access_off_returns_nodes():
    traj = Trajectory(fast_access=False)
    traj.add_parameter("x", 2.5)
    node = traj.x
    assert isinstance(node, Parameter)
    assert node.value == 2.5


def test_contains(traj):
    assert "ncars" in traj
    assert "parameters.traffic.speed" in traj
    assert "traffic" in traj.parameters
    assert "tau" not in traj  # ambiguous is not "in"
    assert "nope" not in traj
    assert 3 not in traj


def test_iteration_over_children_and_leaves(traj):
    assert [n.name for n in traj.parameters] == ["traffic", "x", "neuron", "synapse"]
    assert len(traj.parameters) == 4
    leaves = [leaf.full_name for leaf in traj.iter_leaves()]
    assert leaves == [
        "parameters.traffic.ncars",
        "parameters.traffic.speed",
        "parameters.x",
        "parameters.neuron.tau",
        "parameters.synapse.tau",
        "results.z",
    ]
    assert all(isinstance(leaf, Leaf) for leaf in traj.iter_leaves())
    groups = [g.full_name for g in traj.iter_groups()]
    assert "parameters.traffic" in groups and "results" in groups
    assert [n.name for n in traj.parameters.iter_nodes(recursive=False)] == [
        "traffic", "x", "neuron", "synapse"]


def test_dir_lists_children(traj):
    assert {"parameters", "results"} <= set(dir(traj))
    assert {"ncars", "speed"} <= set(dir(traj.parameters.traffic))


# -- assignment by natural naming ------------------------------------------------------


def test_assignment_sets_the_parameter(traj):
    traj.x = 2.0
    assert traj.x == 2.0
    assert traj.get("x").default == 2.0
    traj.parameters.traffic.ncars = 50
    assert traj.ncars == 50


def test_assignment_never_creates_nodes(traj):
    with pytest.raises(NodeNotFoundError, match="no node named 'nope'"):
        traj.nope = 1
    assert "nope" not in traj


def test_assignment_to_a_group_is_refused(traj):
    with pytest.raises(AttributeError, match="it is a group"):
        traj.traffic = 3


def test_assignment_of_properties_still_works(traj):
    traj.comment = "new"
    assert traj.comment == "new"
    traj.get("x").comment = "the x"
    assert traj.get("x").comment == "the x"


def test_assignment_type_mismatch_names_the_parameter(traj):
    with pytest.raises(TypeError, match="parameters.x"):
        traj.x = "a string"


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("1x", "not a valid Python identifier; rename it"),
        ("my-param", "not a valid Python identifier; rename it"),
        ("class", "not a valid Python identifier"),
        ("a/b", "may not contain '/' or '..'; use dots"),
        ("a..b", "may not contain '..'"),
        ("a.", "may not contain '..' or start or end with '.'"),
        ("_hidden", "names starting with '_' are reserved"),
        ("name", "clashes with a reserved member name of the trajectory; rename it"),
        ("idx", "clashes with a reserved member name"),
        ("f_get", "clashes with a reserved member name"),
    ],
)
def test_invalid_names_say_what_to_rename(traj, bad, fragment):
    with pytest.raises(InvalidNameError, match="rename|may not|reserved|identifier") as info:
        traj.add_parameter(bad, 1)
    assert fragment in str(info.value)
    assert repr(bad) in str(info.value)


def test_invalid_path_creates_no_groups(traj):
    with pytest.raises(InvalidNameError):
        traj.add_parameter("fresh..b", 1)
    assert "fresh" not in traj.parameters


def test_validate_helpers():
    validate_name("ok_name", "here", set())
    with pytest.raises(InvalidNameError, match="non-empty"):
        validate_name("", "here", set())
    with pytest.raises(InvalidNameError, match="reserved"):
        validate_name("taken", "here", {"taken"})
    validate_path("a.b.c", "here")
    with pytest.raises(InvalidNameError):
        validate_path(".a", "here")


# -- comments, annotations, tags, find ----------------------------------------------------


def test_comments_on_every_node(traj):
    assert traj.comment == "a tree for tests"
    assert traj.get("traffic.ncars").comment == "cars on the road"
    traj.parameters.traffic.comment = "road traffic"
    assert traj.parameters.traffic.comment == "road traffic"
    traj.results.comment = 42  # stored as text
    assert traj.results.comment == "42"


def test_annotations(traj):
    node = traj.get("ncars")
    node.set_annotations({"source": "survey"}, year=2024)
    assert node.annotations == {"source": "survey", "year": 2024}
    assert node.get_annotations("source") == "survey"
    assert node.get_annotations("source", "year") == ("survey", 2024)
    traj.parameters.traffic.set_annotations(city="Berlin")
    assert traj.parameters.traffic.annotations["city"] == "Berlin"
    traj.set_annotations(author="me")
    assert traj.get_annotations("author") == "me"


def test_missing_annotation_names_what_exists(traj):
    node = traj.get("ncars")
    node.set_annotations(source="survey")
    with pytest.raises(NodeNotFoundError, match="has no annotation 'year'; it has \\['source'\\]"):
        node.get_annotations("year")


def test_tags_and_find(traj):
    traj.get("ncars").add_tags("traffic", "count")
    traj.get("speed").add_tags("traffic")
    traj.get("x").add_tags("input")
    assert [n.name for n in traj.find(tag="traffic")] == ["ncars", "speed"]
    assert [n.name for n in traj.find("n*")] == ["ncars", "neuron"]
    assert [n.name for n in traj.find("n*", leaves_only=True)] == ["ncars"]
    assert [n.full_name for n in traj.find("*.tau")] == [
        "parameters.neuron.tau", "parameters.synapse.tau"]
    assert [n.full_name for n in traj.find("parameters.traffic.*", tag="count")] == [
        "parameters.traffic.ncars"]
    assert traj.results.find(tag="traffic") == []
    assert traj.get("ncars").tags == {"traffic", "count"}


# -- links ---------------------------------------------------------------------------------


def test_link_resolves_to_the_same_object(traj):
    link = traj.add_link("cars", "parameters.traffic.ncars")
    node = traj.get("parameters.traffic.ncars")
    assert link.target is node
    assert traj.get("cars") is node
    assert traj.cars == 42
    traj.add_link("results.the_traffic", traj.parameters.traffic)
    assert traj.results.the_traffic is traj.parameters.traffic
    assert traj["results.the_traffic.speed"] == 13.5
    assert traj.results.links == {"the_traffic": traj.parameters.traffic}


def test_link_in_new_groups_and_name_clash(traj):
    traj.add_link("results.aliases.velocity", "speed")
    assert traj.results.aliases.velocity == 13.5
    with pytest.raises(NodeExistsError, match="already has a child or link 'velocity'"):
        traj.add_link("results.aliases.velocity", "ncars")
    with pytest.raises(NodeExistsError):
        traj.add_parameter("neuron.tau", 3.0)


def test_link_names_are_validated(traj):
    with pytest.raises(InvalidNameError, match="not a valid Python identifier"):
        traj.add_link("results.2fast", "speed")


def test_links_are_not_walked(traj):
    traj.add_link("results.p", traj.parameters)
    assert [leaf.full_name for leaf in traj.results.iter_leaves()] == ["results.z"]


@pytest.mark.parametrize(
    "name, target",
    [
        ("parameters.traffic.up", "parameters"),  # a group under its own descendant
        ("parameters.traffic.me", "parameters.traffic"),  # inside itself
        ("parameters.traffic.deeper.up", "parameters.traffic"),  # via new groups
        ("loop", None),  # the root under itself
    ],
)
def test_link_cycles_are_rejected(traj, name, target):
    with pytest.raises(LinkError, match="would make a cycle"):
        traj.add_link(name, target if target is not None else traj)
    assert "deeper" not in traj.parameters.traffic


def test_cycle_through_other_links_is_rejected(traj):
    traj.add_link("parameters.neuron.partner", "parameters.synapse")
    with pytest.raises(LinkError, match="cycle"):
        traj.add_link("parameters.synapse.partner", "parameters.neuron")
    # linking a leaf back is fine
    traj.add_link("parameters.synapse.tau_of_neuron", "parameters.neuron.tau")
    assert traj.parameters.synapse.tau_of_neuron == 0.01


def test_link_to_another_tree_is_refused(traj):
    other = Trajectory("other")
    other.add_parameter("q", 1)
    with pytest.raises(LinkError, match="another tree"):
        traj.add_link("q", other.get("q"))


def test_link_target_must_be_a_node(traj):
    with pytest.raises(LinkError, match="must be a node or a path"):
        Group.add_link(traj, "bad", 42)
    with pytest.raises(NodeNotFoundError):
        traj.add_link("bad", "parameters.nothing")


# -- removing --------------------------------------------------------------------------------


def test_remove_child_updates_shortcuts_and_links(traj):
    traj.add_link("results.fast", "parameters.traffic.speed")
    traj.parameters.remove("traffic")
    assert "traffic" not in traj.parameters
    assert "ncars" not in traj
    assert "fast" not in traj.results.links
    with pytest.raises(NodeNotFoundError):
        traj.results.remove("nothing")
    # the name is free again
    traj.add_parameter("traffic.ncars", 7)
    assert traj.ncars == 7


def test_remove_link_only(traj):
    traj.add_link("cars", "ncars")
    traj.remove("cars")
    assert traj.ncars == 42
    assert traj.links == {}


# -- copies -------------------------------------------------------------------------------------


def test_pickle_and_deepcopy_roundtrip(traj):
    traj.get("ncars").set_annotations(source="survey")
    traj.add_link("cars", "ncars")
    for clone in (pickle.loads(pickle.dumps(traj)), copy.deepcopy(traj)):
        assert clone.ncars == 42
        assert clone.cars == 42
        assert clone.get("ncars").annotations == {"source": "survey"}
        clone.x = 5.0
        assert traj.x == 1.0


def test_result_leaf_in_tree(traj):
    res = traj.get("results.z")
    assert isinstance(res, Result)
    assert res.is_leaf and not traj.results.is_leaf
    assert repr(traj.parameters.traffic) == "<ParameterGroup 'parameters.traffic'>"
