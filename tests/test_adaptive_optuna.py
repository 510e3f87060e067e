"""pypetx.optimize: an Optuna study's trials asked in batches and run on a real
LocalCluster; the trial history stored with the results; resume."""

from __future__ import annotations

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import pypetx  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


def bowl(x, y):
    """Minimum 0 at (2, -1)."""
    return (x - 2) ** 2 + (y + 1) ** 2


def bowl_logged(x, y, log):
    with open(log, "a") as f:
        f.write(f"{x!r} {y!r}\n")
    return (x - 2) ** 2 + (y + 1) ** 2


def cliff(x):
    if x > 3:
        raise ValueError("over the cliff")
    return (x - 2) ** 2


def curve(x):
    """A loss curve that ends at (x - 2)^2: what a pruner watches."""
    steps = np.arange(1, 11)
    return {"loss": (x - 2) ** 2, "curve": (x - 2) ** 2 + 1.0 / steps}


def seeded_study(**kw):
    return optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3), **kw)


def test_study_finds_the_minimum_on_the_cluster(client, tmp_path):
    study = seeded_study()
    ds = pypetx.optimize(bowl, study, space={"x": (-5.0, 5.0), "y": (-5.0, 5.0)},
                         n_trials=80, client=client, filename=tmp_path / "bowl.h5")
    assert len(study.trials) == 80 and ds.sizes["run"] == 80
    assert study.best_params["x"] == pytest.approx(2, abs=0.4)
    assert study.best_params["y"] == pytest.approx(-1, abs=0.4)
    assert study.best_value < 0.2
    # trial k is run k; the stored value is what the study was told
    values = np.array([t.value for t in study.trials])
    np.testing.assert_allclose(ds.bowl.values, values)
    np.testing.assert_allclose(ds.x.values, [t.params["x"] for t in study.trials])
    # the trial history is stored with the results
    history = pypetx.load(tmp_path / "bowl.h5").results.study
    assert list(history.trial) == list(range(80))
    assert set(history.state) == {"COMPLETE"}
    assert history.best_value == pytest.approx(study.best_value)
    assert history.best_params == pytest.approx(study.best_params)
    assert history.sampler == "TPESampler"


def test_failed_trials_are_recorded_as_failed(client):
    study = seeded_study()
    ds = pypetx.optimize(cliff, study, space={"x": (0.0, 5.0)}, n_trials=24, client=client)
    failed = ds.x.values[ds.failed.values]
    assert len(failed) > 0 and bool((failed > 3).all())
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == len(failed)
    assert len(pypetx.failures(ds)) == len(failed)
    assert study.best_params["x"] <= 3


def test_pruner_prunes_on_the_reported_curve():
    study = seeded_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=4,
                                                            n_warmup_steps=2))
    ds = pypetx.optimize(curve, study, space={"x": (-5.0, 5.0)}, n_trials=30,
                         objective="loss", intermediate="curve", points_per_round=4,
                         cluster="synchronous")
    states = [t.state for t in study.trials]
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    assert 0 < pruned < 30
    assert ds.curve.shape == (30, 10)  # every run's curve is stored, pruned or not
    pruned_trial = next(t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED)
    assert len(pruned_trial.intermediate_values) >= 3  # reported step by step


def test_resume_adds_stored_trials_and_runs_only_new_ones(tmp_path):
    path, log = tmp_path / "resume.h5", tmp_path / "calls.log"
    space = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
    first = seeded_study()
    pypetx.optimize(bowl_logged, first, space=space, n_trials=16, filename=path,
                    name="bowl", constants={"log": str(log)}, cluster="synchronous")
    fresh = seeded_study()
    ds = pypetx.optimize(bowl_logged, fresh, space=space, n_trials=24, filename=path,
                         name="bowl", constants={"log": str(log)}, cluster="synchronous",
                         resume=True)
    calls = log.read_text().splitlines()
    assert len(calls) == 24 and len(set(calls)) == 24  # 8 new runs, none repeated
    assert len(fresh.trials) == 24
    assert [t.params for t in fresh.trials[:16]] == [t.params for t in first.trials]
    assert [t.value for t in fresh.trials[:16]] == [t.value for t in first.trials]
    assert ds.sizes["run"] == 24
    assert list(pypetx.load(path).results.study.trial) == list(range(24))


def test_space_shorthands_ints_choices_and_log():
    study = seeded_study()
    ds = pypetx.optimize(lambda n, kind, rate: n * (1 if kind == "a" else 2) * rate, study,
                         space={"n": (1, 5), "kind": ["a", "b"], "rate": (1e-3, 1.0, "log")},
                         n_trials=12, cluster="synchronous")
    assert ds.n.dtype.kind == "i" and set(ds.n.values) <= set(range(1, 6))
    assert set(ds.kind.values.tolist()) <= {"a", "b"}
    assert float(ds.rate.min()) >= 1e-3
    with pytest.raises(ValueError, match="n_trials= or timeout="):
        pypetx.optimize(bowl, study, space={"x": (0.0, 1.0)})
    with pytest.raises(TypeError, match="distribution"):
        pypetx.optimize(bowl, study, space={"x": "wide"}, n_trials=3)


def test_multi_objective_study():
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=1))
    ds = pypetx.optimize(lambda x: {"a": x**2, "b": (x - 1) ** 2}, study,
                         space={"x": (-2.0, 3.0)}, n_trials=16, objective=["a", "b"],
                         cluster="synchronous")
    assert ds.sizes["run"] == 16
    front = [t.params["x"] for t in study.best_trials]
    assert front and all(-0.5 <= x <= 1.5 for x in front)
