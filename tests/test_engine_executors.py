"""Backends: synchronous, concurrent.futures executors, distributed (real LocalCluster)."""

from __future__ import annotations

import signal
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import dask
import distributed
import pytest

from pypetx.engine import (
    Backend,
    DistributedBackend,
    ExecutorBackend,
    SynchronousBackend,
    resolve_backend,
)
from pypetx.engine.localfirst import LocalFirstBackend


def square(x):
    return x * x


def fail_first_time(marker):
    """Raise while ``marker`` exists (removing it): a retry then succeeds."""
    if marker.exists():
        marker.unlink()
        raise RuntimeError("transient failure")
    return "ok"


def broken(x):
    raise ValueError(f"bad point {x}")


def run_all(backend, fn, values):
    handles = {backend.submit(fn, v): v for v in values}
    out = {}
    pending = set(handles)
    while pending:
        done, pending = backend.wait_any(pending, timeout=30)
        for h in done:
            out[handles[h]] = backend.result(h)
    return [out[v] for v in values]


@pytest.fixture(scope="module")
def cluster_client():
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "fork"}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def test_synchronous_runs_in_order_and_propagates_errors():
    be = SynchronousBackend()
    assert isinstance(be, Backend) and be.n_workers == 1
    assert run_all(be, square, [1, 2, 3]) == [1, 4, 9]
    h = be.submit(broken, 7)
    with pytest.raises(ValueError, match="bad point 7") as info:
        be.wait_any({h})
    # the user's frame is in the traceback: pdb.pm() lands there
    assert "broken" in "".join(traceback.format_tb(info.value.__traceback__))
    h2 = be.submit(square, 2)
    be.cancel([h2])
    be.wait_any({h2})
    with pytest.raises(Exception, match="cancelled"):
        be.result(h2)


def test_thread_pool_backend_with_retries(tmp_path):
    with ThreadPoolExecutor(3) as pool:
        be = ExecutorBackend(pool)
        assert be.n_workers == 3
        assert run_all(be, square, list(range(10))) == [x * x for x in range(10)]
        marker = tmp_path / "marker"
        marker.touch()
        h = be.submit(fail_first_time, marker, retries=1)
        be.wait_any({h}, timeout=30)
        assert be.result(h) == "ok"
        marker.touch()
        h = be.submit(fail_first_time, marker)  # no retries: the error comes through
        be.wait_any({h}, timeout=30)
        with pytest.raises(RuntimeError, match="transient"):
            be.result(h)


def test_process_pool_backend():
    with ProcessPoolExecutor(2) as pool, resolve_backend(executor=pool) as be:
        assert isinstance(be, ExecutorBackend)
        assert run_all(be, square, [3, 4]) == [9, 16]


def test_executor_backend_rejects_non_executors():
    with pytest.raises(TypeError, match="submit"):
        ExecutorBackend(object())


def test_user_client_is_used_and_not_closed(cluster_client):
    be = resolve_backend(client=cluster_client)
    assert isinstance(be, DistributedBackend)
    assert be.n_workers == 2
    assert run_all(be, square, [5, 6]) == [25, 36]
    assert be.dashboard_link.startswith("http://127.0.0.1:")
    be.close()
    assert cluster_client.status == "running"
    # an executor= that is a Client is the same thing
    assert isinstance(resolve_backend(executor=cluster_client), DistributedBackend)


def test_cluster_object_gets_its_own_client(cluster_client):
    cluster = cluster_client.cluster
    with resolve_backend(cluster=cluster) as be:
        assert run_all(be, square, [2]) == [4]
        client = be.client
        assert client is not cluster_client
    assert client.status == "closed"
    assert cluster.status.name == "running"  # the user's cluster stays up


def test_share_scatters_one_object_even_a_dict(cluster_client):
    be = DistributedBackend(cluster_client)
    shared = be.share({"a": [1, 2], "b": 3})
    assert isinstance(shared, distributed.Future)
    h = be.submit(len, shared)
    be.wait_any({h}, timeout=30)
    assert be.result(h) == 2


def test_distributed_task_error_and_retries(cluster_client, tmp_path):
    be = DistributedBackend(cluster_client)
    h = be.submit(broken, 1)
    be.wait_any({h}, timeout=30)
    with pytest.raises(ValueError, match="bad point 1"):
        be.result(h)
    marker = tmp_path / "marker"
    marker.touch()
    h = be.submit(fail_first_time, marker, retries=1)
    be.wait_any({h}, timeout=30)
    assert be.result(h) == "ok"


def test_wait_any_times_out_without_results(cluster_client):
    import time

    be = DistributedBackend(cluster_client)
    h = be.submit(time.sleep, 2)
    done, not_done = be.wait_any({h}, timeout=0.01)
    assert done == set() and not_done == {h}
    be.cancel([h])


def test_embedded_local_cluster_lifecycle():
    method_before = dask.config.get("distributed.worker.multiprocessing-method")
    be = DistributedBackend.local(n_workers=1, dashboard_address=":0")
    assert be._client is None  # lazy: nothing started yet
    with be:
        assert be.n_workers == 1
        assert dask.config.get("distributed.worker.multiprocessing-method") == "fork"
        assert be.dashboard_link.startswith("http://127.0.0.1:")
        # Ctrl-C in a terminal reaches the workers too: they must ignore it
        handlers = be.client.run(lambda: signal.getsignal(signal.SIGINT))
        assert list(handlers.values()) == [signal.SIG_IGN]
        with pytest.raises(ValueError):
            distributed.default_client()  # never installed as the default client
        client, cluster = be.client, be._cluster
    assert client.status == "closed" and cluster.status.name == "closed"
    assert dask.config.get("distributed.worker.multiprocessing-method") == method_before


def test_resolve_names_and_config():
    assert isinstance(resolve_backend(cluster="synchronous"), SynchronousBackend)
    with dask.config.set({"pypetx.cluster": "synchronous"}):
        assert isinstance(resolve_backend(), SynchronousBackend)
    be = resolve_backend(n_workers=1)  # the driver first; the cluster only if needed
    assert isinstance(be, LocalFirstBackend) and not be.started
    be.close()
    be = resolve_backend(n_workers=1, local_first=False)
    assert isinstance(be, DistributedBackend) and be._client is None
    be.close()
    with pytest.raises(
        ValueError, match="known names: local, synchronous, slurm, pbs, sge"
    ):
        resolve_backend(cluster="kubernetes")
    with pytest.raises(ValueError, match="at most one"):
        resolve_backend(cluster="local", executor=ThreadPoolExecutor(1))
    with pytest.raises(TypeError, match="synchronous backend takes no options"):
        resolve_backend(cluster="synchronous", n_workers=3)
    with pytest.raises(TypeError, match="cluster options"):
        resolve_backend(executor=ThreadPoolExecutor(1), n_workers=3)
    with pytest.raises(TypeError, match="Dask cluster object"):
        resolve_backend(cluster=42)
    backend = SynchronousBackend()
    assert resolve_backend(executor=backend) is backend


def test_jobqueue_names_need_dask_jobqueue(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'pypetx\[hpc\]'"):
        resolve_backend(cluster="slurm")


def test_jobqueue_cluster_is_created_lazily(monkeypatch):
    pytest.importorskip("dask_jobqueue")
    from pypetx.engine import jobqueue

    monkeypatch.setattr(jobqueue.shutil, "which", lambda cmd: f"/usr/bin/{cmd}")  # no PBS needed
    be = resolve_backend(cluster="pbs", cores=1, memory="1GB", security=False)
    assert isinstance(be, DistributedBackend) and be._client is None
    be.close()


def test_default_client_is_used_when_present(cluster_client):
    with distributed.Client(cluster_client.scheduler.address) as client:  # sets default
        be = resolve_backend()
        assert isinstance(be, DistributedBackend) and be.client is client
        with dask.config.set({"pypetx.use_default_client": False}):
            be2 = resolve_backend(n_workers=1)
            assert isinstance(be2, LocalFirstBackend) and not be2.started
            be2.close()


def _where(x):
    import os

    return os.getpid()


def test_with_client_every_point_runs_on_that_cluster(cluster_client):
    # a cheap sweep the default would run in the driver: with client= it must not
    import os

    import pypetx

    ds = pypetx.sweep(_where, x=list(range(200)), client=cluster_client)
    pids = set(ds["where"].values.ravel().tolist())  # "_where": a name without the "_"
    workers = set(cluster_client.run(os.getpid).values())
    assert pids and pids <= workers and os.getpid() not in pids
    assert int(ds.completed.sum()) == 200
