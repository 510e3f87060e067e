#!/usr/bin/env python
"""pypetx benchmarks: pypetx against pypet, xyzpy, plain Dask and the plain Python loop.

    python benchmarks/run.py            # full run (~30 min), writes RESULTS.md + plot
    python benchmarks/run.py --quick    # a few minutes: small N, one repeat
    python benchmarks/run.py --only trivial,startup   # some workloads only
    python benchmarks/run.py --report   # rewrite RESULTS.md / plot from the last raw data

Creates what it needs under benchmarks/_work/ (gitignored): a venv for pypet (python3.12 +
pypet 0.7 from PyPI, else python3.11 + pypet 0.6.1) and one for xyzpy. Every measurement
is a fresh subprocess (bench_<contender>.py) that prints one ``BENCHJSON {...}`` line;
medians are taken over the repeats. Raw results: benchmarks/_work/results-<mode>.json.

Workloads: trivial (z = x*y, 10^2..10^6 points, end to end), cpu (10 ms CPU per point,
1,000 points: parallel efficiency), array (10^4 points each returning 10^4 floats:
throughput, file size, driver peak RSS), slice (reopen the array cube, read one point /
one row lazily vs the whole cube), resume (10^5-point sweep 99 % done), startup
(import time, 10-point sweep end to end), profile (py-spy on the 10^6 pypetx sweep),
scale (growth curves to 10^7 points: bench_scale.py, its own SCALE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
MAIN_PY = sys.executable
MARK = "BENCHJSON "
WORKLOADS = ["startup", "trivial", "cpu", "array", "slice", "resume", "client", "profile",
             "scale"]
#: A python whose pypetx is an older commit (PYPETX_BENCH_BEFORE_PY; its commit in
#: PYPETX_BENCH_BEFORE_COMMIT): its rows are measured in the same run, side by side.
BEFORE = "before"
NCORES = os.cpu_count() or 1


# ----------------------------------------------------------------------------- environments

def _find_python(version: str) -> str | None:
    cands = [shutil.which(f"python{version}")]
    pyenv = Path.home() / ".pyenv" / "versions"
    if pyenv.is_dir():
        cands += [str(p / "bin" / "python") for p in sorted(pyenv.glob(f"{version}.*"))]
    for c in cands:
        if c and Path(c).exists():
            try:
                subprocess.run([c, "-c", "import venv"], check=True, capture_output=True)
                return c
            except (OSError, subprocess.CalledProcessError):
                continue
    return None


def _venv(name: str, attempts: list[tuple[str, list[str]]]) -> str | None:
    """A venv under _work/ with the packages installed; tries (python, packages) in order."""
    venv = WORK / name
    stamp = venv / ".bench-installed"
    py = venv / "bin" / "python"
    if stamp.exists() and py.exists():
        return str(py)
    for version, packages in attempts:
        base = _find_python(version)
        if base is None:
            print(f"[setup] python{version} not found for {name}")
            continue
        shutil.rmtree(venv, ignore_errors=True)
        print(f"[setup] {name}: python{version} + {' '.join(packages)} ...", flush=True)
        try:
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", "--progress-bar", "off",
                            *packages], check=True)
        except subprocess.CalledProcessError as exc:
            print(f"[setup] {name}: failed ({exc})")
            continue
        stamp.write_text(json.dumps({"python": version, "packages": packages}))
        return str(py)
    return None


def setup() -> dict[str, str | None]:
    WORK.mkdir(exist_ok=True)
    common = ["numpy", "psutil", "h5py"]
    return {
        "main": MAIN_PY,
        "pypet": _venv("venv-pypet", [("3.12", ["pypet>=0.7", *common]),
                                      ("3.11", ["pypet==0.6.1", *common])]),
        "xyzpy": _venv("venv-xyzpy", [("3.12", ["xyzpy", "matplotlib", "dask[array]",
                                                "distributed", "h5netcdf", *common])]),
        BEFORE: os.environ.get("PYPETX_BENCH_BEFORE_PY") or None,
    }


def before_label(label: str) -> str:
    """The label of a contender's row measured with the older pypetx."""
    return f"{label} [before: {os.environ.get('PYPETX_BENCH_BEFORE_COMMIT', 'older commit')}]"


# ----------------------------------------------------------------------------- running cases

def run_case(py: str, script: str, args: list[str], timeout: float = 1800,
             wall: bool = False) -> dict:
    cmd = [py, str(HERE / script), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=str(HERE))
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    elapsed = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            res = json.loads(line[len(MARK):])
            if wall:
                res["process_wall_seconds"] = elapsed
            return res
    tail = (proc.stderr or proc.stdout)[-1500:]
    return {"error": f"exit {proc.returncode}: {tail.strip().splitlines()[-1] if tail.strip() else ''}",
            "stderr_tail": tail}


def median_of(runs: list[dict], key: str = "seconds") -> float | None:
    vals = [r[key] for r in runs if key in r and r[key] is not None]
    return statistics.median(vals) if vals else None


class Bench:
    def __init__(self, pys: dict, quick: bool, repeats: int | None) -> None:
        self.pys = pys
        self.quick = quick
        self.repeats = repeats or (1 if quick else 3)
        self.results: dict = {}
        self.match: list[str] = []
        self.workdir = str(WORK / "data")
        os.makedirs(self.workdir, exist_ok=True)

    def series(self, workload: str, label: str, env: str, script: str, case: list[str],
               ns: list[int], *, limit: float = 300.0, repeats: int | None = None,
               slow_single: float = 60.0) -> None:
        """Run one contender over ``ns``; stop (mark "not run") when the previous N took
        so long that 10x more points would exceed ``limit`` seconds."""
        if self.match and not any(m.lower() in label.lower() for m in self.match):
            return  # --match: keep this contender's stored results
        if self.quick and limit < 300:
            ns = [n for n in ns if n <= 1000]
        py = self.pys.get(env)
        store = self.results.setdefault(workload, {}).setdefault(label, {})
        prev, prev_n = None, 1
        for n in ns:
            key = str(n)
            if py is None:
                store[key] = {"not_run": f"no {env} environment"}
                continue
            if prev is not None and prev * (n / prev_n) > limit:
                store[key] = {"not_run": f"> {limit:.0f} s expected (N={prev_n} took {prev:.0f} s)"}
                continue
            runs = []
            reps = repeats or self.repeats
            for r in range(reps):
                res = run_case(py, script, [*case, "--n", str(n), "--workdir", self.workdir],
                               timeout=max(limit * 2, 120))
                runs.append(res)
                print(f"  {workload:8s} {label:34s} N={n:>8d} rep {r + 1}/{reps}: "
                      + (f"{res['seconds']:.3f} s" if "seconds" in res else res.get("error", "?")),
                      flush=True)
                if "error" in res or res.get("seconds", 0) > slow_single:
                    break  # slow contenders: fewer repeats (recorded as n_repeats)
            ok = [r for r in runs if "error" not in r]
            entry = {"runs": runs, "n_repeats": len(ok)}
            if ok:
                entry["seconds"] = median_of(ok)
                for k in ok[0]:
                    if isinstance(ok[0][k], (int, float)) and k not in ("n",):
                        entry[k] = median_of(ok, k)
            else:
                entry["error"] = runs[-1].get("error")
            store[key] = entry
            self.save()
            if "seconds" not in entry:
                prev = None
                break
            prev, prev_n = entry["seconds"], n

    def save(self) -> None:
        path = WORK / f"results-{'quick' if self.quick else 'full'}.json"
        path.write_text(json.dumps(self.results, indent=1))

    # ------------------------------------------------------------------------- workloads

    def trivial(self) -> None:
        ns = [100, 1000, 10_000] if self.quick else [100, 1000, 10_000, 100_000, 1_000_000]
        print("[trivial] z = x*y, end to end", flush=True)
        s = self.series
        s("trivial", "plain loop (+ xarray save)", "main", "bench_dask.py", ["trivial_loop"], ns)
        s("trivial", "pypetx traj, default", "main", "bench_pypetx.py", ["trivial_traj"], ns)
        s("trivial", "pypetx sweep, default", "main", "bench_pypetx.py", ["trivial_sweep"], ns)
        if self.pys.get(BEFORE):
            s("trivial", before_label("pypetx traj, default"), BEFORE, "bench_pypetx.py",
              ["trivial_traj"], ns)
            s("trivial", before_label("pypetx sweep, default"), BEFORE, "bench_pypetx.py",
              ["trivial_sweep"], ns)
        s("trivial", "pypetx traj, LocalCluster from the start", "main", "bench_pypetx.py",
          ["trivial_traj", "--mode", "cluster"], ns)
        s("trivial", "pypetx traj, synchronous", "main", "bench_pypetx.py",
          ["trivial_traj", "--mode", "sync"], ns)
        s("trivial", "pypetx sweep, synchronous", "main", "bench_pypetx.py",
          ["trivial_sweep", "--mode", "sync"], ns)
        s("trivial", "pypetx traj, client started before", "main", "bench_pypetx.py",
          ["trivial_traj", "--mode", "client"], ns)
        s("trivial", "xyzpy Runner serial (+ save_ds)", "xyzpy", "bench_xyzpy.py",
          ["trivial_runner"], ns)
        s("trivial", "xyzpy Harvester serial", "xyzpy", "bench_xyzpy.py",
          ["trivial_harvester"], ns)
        s("trivial", "xyzpy Harvester, Dask executor", "xyzpy", "bench_xyzpy.py",
          ["trivial_dask"], ns, limit=120)
        s("trivial", "Dask hand-batched (4 tasks)", "main", "bench_dask.py",
          ["trivial_batched"], ns)
        s("trivial", "Dask one task per point", "main", "bench_dask.py", ["trivial_naive"],
          ns, limit=120)
        s("trivial", "pypet multiproc=False", "pypet", "bench_pypet.py", ["trivial_serial"],
          ns, limit=299, slow_single=20)
        s("trivial", f"pypet multiproc, {NCORES} cores", "pypet", "bench_pypet.py",
          ["trivial_mp"], ns, limit=299, slow_single=20)

    def cpu(self) -> None:
        n = [100] if self.quick else [1000]
        print(f"[cpu] 10 ms CPU per point, {n[0]} points", flush=True)
        s = self.series
        s("cpu", "plain loop (serial reference)", "main", "bench_dask.py", ["cpu_loop"], n)
        s("cpu", "pypetx traj, default", "main", "bench_pypetx.py", ["cpu_traj"], n)
        s("cpu", "pypetx sweep, default", "main", "bench_pypetx.py", ["cpu_sweep"], n)
        s("cpu", "pypetx traj, LocalCluster from the start", "main", "bench_pypetx.py",
          ["cpu_traj", "--mode", "cluster"], n)
        s("cpu", "pypetx traj, client started before", "main", "bench_pypetx.py",
          ["cpu_traj", "--mode", "client"], n)
        s("cpu", "pypetx traj, synchronous", "main", "bench_pypetx.py",
          ["cpu_traj", "--mode", "sync"], n)
        s("cpu", "xyzpy Harvester, Dask executor", "xyzpy", "bench_xyzpy.py", ["cpu_dask"], n)
        s("cpu", "Dask hand-batched (4 tasks)", "main", "bench_dask.py", ["cpu_batched"], n)
        s("cpu", "Dask one task per point", "main", "bench_dask.py", ["cpu_naive"], n)
        s("cpu", "pypet multiproc=False", "pypet", "bench_pypet.py", ["cpu_serial"], n,
          repeats=1)
        s("cpu", f"pypet multiproc, {NCORES} cores", "pypet", "bench_pypet.py", ["cpu_mp"], n,
          repeats=1)

    def array(self) -> None:
        n = [1000] if self.quick else [10_000]
        print(f"[array] {n[0]} points x 10^4 floats", flush=True)
        s = self.series
        s("array", "pypetx traj, default", "main", "bench_pypetx.py", ["array_traj"], n)
        if self.pys.get(BEFORE):
            s("array", before_label("pypetx traj, default"), BEFORE, "bench_pypetx.py",
              ["array_traj"], n)
        s("array", "pypetx sweep, default", "main", "bench_pypetx.py", ["array_sweep"], n)
        s("array", "pypetx traj, synchronous", "main", "bench_pypetx.py",
          ["array_traj", "--mode", "sync"], n)
        s("array", "xyzpy Harvester serial", "xyzpy", "bench_xyzpy.py", ["array_harvester"], n)
        s("array", "plain loop -> h5py rows", "main", "bench_dask.py", ["array_loop"], n)
        s("array", "Dask batched -> h5py rows", "main", "bench_dask.py", ["array_batched"], n)

    def slice(self) -> None:
        n = 1000 if self.quick else 10_000
        print(f"[slice] reopen the {n}-point array cube", flush=True)
        path = os.path.join(self.workdir, f"slice-cube-{n}.h5")
        res = run_case(MAIN_PY, "bench_pypetx.py",
                       ["array_traj", "--n", str(n), "--workdir", self.workdir, "--keep"])
        made = os.path.join(self.workdir, f"pypetx-array_traj-local-{n}.h5")
        if "error" in res or not os.path.exists(made):
            self.results["slice"] = {"error": res.get("error", "cube not written")}
            return
        os.replace(made, path)
        runs = []
        for _ in range(self.repeats):
            runs.append(run_case(MAIN_PY, "bench_pypetx.py", ["slice", "--file", path]))
        ok = [r for r in runs if "error" not in r]
        entry = {"n": n, "runs": runs, "file_bytes": os.path.getsize(path)}
        if ok:
            for k in ok[0]:
                if isinstance(ok[0][k], (int, float)) and k != "n":
                    entry[k] = median_of(ok, k)
        self.results["slice"] = entry
        os.remove(path)
        self.save()

    def resume(self) -> None:
        n = 10_000 if self.quick else 100_000
        print(f"[resume] {n}-point sweep, 99 % done", flush=True)
        out = self.results.setdefault("resume", {"n": n})
        cases = [("kill", MAIN_PY, "pypetx kill"), ("fail", MAIN_PY, "pypetx fail"),
                 ("fresh", MAIN_PY, "pypetx fresh")]
        if self.pys.get(BEFORE):
            cases += [("fail", self.pys[BEFORE], before_label("pypetx fail")),
                      ("fresh", self.pys[BEFORE], before_label("pypetx fresh"))]
        for how, py, label in cases:
            runs = []
            for _ in range(self.repeats):
                if how == "fresh":  # the same sweep from scratch, in the same run
                    res = run_case(py, "bench_pypetx.py",
                                   ["trivial_traj", "--n", str(n), "--workdir", self.workdir])
                    runs.append(res)
                    print(f"  resume   {label}: {res.get('seconds', res.get('error'))}",
                          flush=True)
                    continue
                path = os.path.join(self.workdir, f"resume-{how}-{n}.h5")
                prep = run_case(py, "bench_pypetx.py",
                                ["resume_prepare", "--n", str(n), "--how", how, "--file", path],
                                timeout=900)
                if "error" in prep:
                    runs.append({"error": "prepare: " + prep["error"]})
                    break
                res = run_case(py, "bench_pypetx.py",
                               ["resume", "--n", str(n), "--how", how, "--file", path],
                               timeout=600)
                res["prepare"] = prep
                runs.append(res)
                print(f"  resume   pypetx ({how}) N={n}: "
                      + (f"{res['seconds']:.3f} s, {res.get('runs_executed')} runs executed"
                         if "seconds" in res else res.get("error", "?")), flush=True)
                for p in (path, path + ".pypetx"):
                    shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else (
                        os.path.exists(p) and os.remove(p))
                if "error" in res:
                    break
            ok = [r for r in runs if "error" not in r]
            entry = {"runs": runs, "n_repeats": len(ok)}
            if ok:
                entry["seconds"] = median_of(ok)
                entry["runs_executed"] = median_of(ok, "runs_executed") if how != "fresh" else n
            out[label] = entry
            self.save()
        if self.pys.get("xyzpy"):
            runs = [run_case(self.pys["xyzpy"], "bench_xyzpy.py",
                             ["resume", "--n", str(n), "--workdir", self.workdir])
                    for _ in range(self.repeats)]
            ok = [r for r in runs if "error" not in r]
            out["xyzpy merge"] = {"runs": runs, "n_repeats": len(ok),
                                  "seconds": median_of(ok) if ok else None,
                                  "runs_executed": median_of(ok, "runs_executed") if ok else None}
        full = self.results.get("trivial", {}).get("pypetx traj, default", {}).get(str(n))
        if full and "seconds" in full:
            out["full sweep (trivial workload)"] = {"seconds": full["seconds"], "runs_executed": n}
        self.save()

    def client(self) -> None:
        """Issue #17's table: the Dask path on a running Client against hand-batched Dask
        (bench_client.py: one process, interleaved repeats, medians)."""
        reps = 1 if self.quick else 5
        hi = 100_000 if self.quick else 1_000_000
        print(f"[client] running Client, 10^4 and {hi:,} points, {reps} repeats", flush=True)
        out = self.results.setdefault("client", {})
        for label, py in (("after", MAIN_PY), ("before", self.pys.get(BEFORE))):
            if py is None:
                continue
            res = run_case(py, "bench_client.py",
                           ["--repeats", str(reps), "--hi", str(hi)], timeout=3600)
            out[label] = res
            print(f"  client   {label}: " + ("ok" if "rows" in res else str(res.get("error"))),
                  flush=True)
            self.save()

    def startup(self) -> None:
        print("[startup] import pypetx; 10-point sweep", flush=True)
        out: dict = {}
        walls = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([MAIN_PY, "-c", "import pypetx"], check=True)
            walls.append(time.perf_counter() - t0)
        base = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([MAIN_PY, "-c", "pass"], check=True)
            base.append(time.perf_counter() - t0)
        out["import_wall_seconds"] = statistics.median(walls)
        out["interpreter_wall_seconds"] = statistics.median(base)
        proc = subprocess.run([MAIN_PY, "-X", "importtime", "-c", "import pypetx"],
                              capture_output=True, text=True)
        rows = []
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if m:
                rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)))
        pyx = [r for r in rows if r[3] == "pypetx"]
        out["importtime_pypetx_cumulative_s"] = pyx[-1][1] / 1e6 if pyx else None
        heavy = ("xarray", "dask", "distributed", "pandas", "h5py", "h5netcdf", "zarr",
                 "netCDF4", "scipy", "click", "tqdm", "cloudpickle", "numpy", "psutil",
                 "brian2", "deap", "matplotlib", "sparse", "yaml")
        out["importtime_top_level"] = sorted(
            [(name, cum / 1e6) for _s, cum, _d, name in rows if name in heavy],
            key=lambda r: -r[1])
        ten = [run_case(MAIN_PY, "bench_pypetx.py", ["ten", "--n", "10", "--workdir",
                                                     self.workdir], wall=True)
               for _ in range(self.repeats)]
        ok = [r for r in ten if "error" not in r]
        out["ten_point_runs"] = ten
        if ok:
            out["ten_point_seconds"] = median_of(ok)
            out["ten_point_process_wall_seconds"] = median_of(ok, "process_wall_seconds")
        # The same with the LocalCluster started for it (the default skips it: too little work)
        ten = [run_case(MAIN_PY, "bench_pypetx.py", ["ten", "--n", "10", "--mode", "cluster",
                                                     "--workdir", self.workdir], wall=True)
               for _ in range(self.repeats)]
        ok = [r for r in ten if "error" not in r]
        out["ten_point_cluster_runs"] = ten
        if ok:
            out["ten_point_cluster_seconds"] = median_of(ok)
        self.results["startup"] = out
        self.save()

    def scale(self) -> None:
        """Growth curves, 10^4..10^7 points (bench_scale.py; its own SCALE.md + plot)."""
        top = "6" if self.quick else "7"
        array_n = "10000" if self.quick else "1000000"
        print(f"[scale] bench_scale.py up to 10^{top} points", flush=True)
        subprocess.run([MAIN_PY, str(HERE / "bench_scale.py"), "--max", top,
                        "--array-n", array_n], check=True)
        self.results["scale"] = {"report": "benchmarks/SCALE.md"}
        self.save()

    def profile(self) -> None:
        n = 100_000 if self.quick else 1_000_000
        print(f"[profile] py-spy on the pypetx trivial sweep, N={n}", flush=True)
        pyspy = shutil.which("py-spy") or str(Path(MAIN_PY).parent / "py-spy")
        if not Path(pyspy).exists():
            subprocess.run([MAIN_PY, "-m", "pip", "install", "-q", "py-spy"], check=False)
        if not Path(pyspy).exists():
            self.results["profile"] = {"error": "py-spy not available"}
            return
        out: dict = {"n": n}
        for label, mode in (("LocalCluster", "local"), ("synchronous", "sync")):
            raw = WORK / f"profile-{mode}-{n}.txt"
            svg = WORK / f"profile-{mode}-{n}.svg"
            for fmt, dest in (("raw", raw),):
                cmd = [pyspy, "record", "--subprocesses", "--rate", "200", "--format", fmt,
                       "-o", str(dest), "--", MAIN_PY, str(HERE / "bench_pypetx.py"),
                       "profile_target", "--mode", mode, "--n", str(n), "--workdir",
                       self.workdir]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(HERE))
                if fmt == "raw":
                    line = [x for x in proc.stdout.splitlines() if x.startswith(MARK)]
                    out[label + " run"] = json.loads(line[0][len(MARK):]) if line else {
                        "error": proc.stderr[-800:]}
            if raw.exists():
                out[label] = summarise_profile(raw.read_text())
                out[label]["raw_stacks"] = str(raw.relative_to(HERE))
        self.results["profile"] = out
        self.save()


def summarise_profile(text: str, top: int = 18) -> dict:
    """Collapsed py-spy stacks (``--format raw --subprocesses``) -> per process: the
    driver (the pid running ``_traj_run``; only its samples inside the timed sweep are
    counted, not the imports before it) and the worker processes (pids running Dask
    tasks). Inclusive % of pypetx frames, and self % of the hottest leaf functions."""
    per_pid: dict[str, list[tuple[list[str], int]]] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        m = re.match(r"process (\d+)", frames[0])
        pid = m.group(1) if m else "?"
        per_pid.setdefault(pid, []).append((frames[1:] if m else frames, int(count)))

    def clean(f: str) -> str:
        f = re.sub(r" \(.*?/(site-packages|lib/python3\.\d+)/", " (", f)
        return re.sub(r":\d+\)$", ")", f)

    res = {}
    for pid, stacks in per_pid.items():
        joined = [(";".join(fr), fr, c) for fr, c in stacks]
        if any("_traj_run (" in j for j, _, _ in joined):
            role = "driver"
            stacks = [(fr, c) for j, fr, c in joined if "_traj_run (" in j]
        elif any("run_batch" in j or "_run_task" in j for j, _, _ in joined):
            role = "worker"
        else:
            role = "other"
        tot = sum(c for _, c in stacks)
        if not tot:
            continue
        incl: dict[str, int] = {}
        self_: dict[str, int] = {}
        for fr, c in stacks:
            seen = set()
            for f in fr:
                f = clean(f)
                if f not in seen:
                    incl[f] = incl.get(f, 0) + c
                    seen.add(f)
            if fr:
                leaf = clean(fr[-1])
                self_[leaf] = self_.get(leaf, 0) + c
        ranked = sorted(incl.items(), key=lambda kv: -kv[1])
        res[f"{role} pid {pid}"] = {
            "role": role, "samples": tot,
            "pypetx_inclusive": [(f, round(100 * c / tot, 1)) for f, c in ranked
                                 if "pypetx/" in f][:top],
            "self_top": [(f, round(100 * c / tot, 1)) for f, c in
                         sorted(self_.items(), key=lambda kv: -kv[1])[:top]],
        }
    order = {"driver": 0, "worker": 1, "other": 2}
    return dict(sorted(res.items(), key=lambda kv: (order[kv[1]["role"]], -kv[1]["samples"])))


# ----------------------------------------------------------------------------- report

def machine(pys: dict) -> dict:
    info = {"platform": platform.platform(), "cores": NCORES}
    try:
        cpu = [l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else platform.processor()
        mem = [l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")]
        info["ram_gb"] = round(int(mem[0].split()[1]) / 1024 ** 2, 1)
        osr = dict(l.split("=", 1) for l in Path("/etc/os-release").read_text().splitlines() if "=" in l)
        info["os"] = osr.get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                                        capture_output=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "pypetx"], cwd=ROOT,
                               text=True, capture_output=True).stdout.strip()
        info["pypetx_dirty_files"] = len(dirty.splitlines()) if dirty else 0
    except OSError:
        pass
    versions = {}
    snippets = {
        "main": ["pypetx", "numpy", "xarray", "dask", "distributed", "h5py", "h5netcdf"],
        "pypet": ["pypet", "tables", "numpy"],
        "xyzpy": ["xyzpy", "xarray", "dask", "distributed", "numpy"],
    }
    for env, mods in snippets.items():
        py = pys.get(env)
        if not py:
            continue
        code = ("import sys, json, importlib.metadata as m\nout={'python': sys.version.split()[0]}\n"
                f"for k in {mods!r}:\n    try: out[k]=m.version(k)\n    except Exception: pass\n"
                "print(json.dumps(out))")
        try:
            versions[env] = json.loads(subprocess.run([py, "-c", code], capture_output=True,
                                                      text=True).stdout)
        except (ValueError, OSError):
            pass
    info["versions"] = versions
    return info


def fmt_s(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3g} s" if v >= 0.01 else f"{v * 1e3:.3g} ms"


def fmt_us(v) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def fmt_b(v) -> str:
    if v is None:
        return "–"
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if v >= f:
            return f"{v / f:.3g} {unit}"
    return f"{v:.0f} B"


def report(results: dict, info: dict, quick: bool) -> str:
    L = []
    L.append("# pypetx benchmarks\n")
    L.append(f"Generated by `benchmarks/run.py{' --quick' if quick else ''}` on "
             f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Every number is the median of "
             "the repeats shown (`n`); each measurement is a fresh process. Timings start "
             "after the imports (import time is reported under *Start-up*) and include "
             "everything else the user waits for: building the points, starting the "
             "cluster when the contender starts one, running, storing, closing.\n")
    L.append("## Machine\n")
    L.append(f"- CPU: {info.get('cpu')}, {info.get('cores')} cores (shared, noisy); RAM "
             f"{info.get('ram_gb')} GB; {info.get('os')} ({info.get('platform')})")
    L.append(f"- pypetx commit `{info.get('commit')}`"
             + (f" plus {info['pypetx_dirty_files']} uncommitted file(s) under pypetx/ "
                "(the working tree was measured)" if info.get("pypetx_dirty_files") else ""))
    for env, v in info.get("versions", {}).items():
        L.append(f"- {env} venv: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    L.append("")

    tr = results.get("trivial")
    if tr:
        ns = sorted({int(n) for c in tr.values() for n in c})
        L.append("## 1. Trivial sweep `z = x*y`, end to end: µs per point (file bytes per point)\n")
        L.append("| contender | " + " | ".join(f"N = {n:,}" for n in ns) + " |")
        L.append("|---|" + "---:|" * len(ns))
        for label, cells in tr.items():
            row = []
            for n in ns:
                c = cells.get(str(n))
                if c is None:
                    row.append("")
                elif "seconds" in c:
                    s = fmt_us(c["seconds"] / n * 1e6)
                    if c.get("file_bytes"):
                        s += f" ({c['file_bytes'] / n:,.0f} B)"
                    if c.get("n_repeats", 3) < 3 and not quick:
                        s += f" n={c['n_repeats']}"
                    row.append(s)
                elif "not_run" in c:
                    row.append("not run")
                elif str(c.get("error", "")).startswith("timeout"):
                    row.append("> " + str(c["error"]).split("after ")[-1] + " (stopped)")
                else:
                    row.append("error")
            L.append(f"| {label} | " + " | ".join(row) + " |")
        L.append("")
        L.append("Total seconds:\n")
        L.append("| contender | " + " | ".join(f"N = {n:,}" for n in ns) + " |")
        L.append("|---|" + "---:|" * len(ns))
        for label, cells in tr.items():
            row = [fmt_s(cells.get(str(n), {}).get("seconds")) if "seconds" in cells.get(str(n), {})
                   else "" for n in ns]
            L.append(f"| {label} | " + " | ".join(row) + " |")
        L.append("")
        notes = {}
        for label, cells in tr.items():
            for n, c in cells.items():
                if "not_run" in c:
                    notes.setdefault(label, c["not_run"])
                if "error" in c:
                    notes.setdefault(label, "error: " + str(c["error"])[:200])
        for label, why in notes.items():
            L.append(f"- {label}: {why}")
        L.append("")
        L.append("![time per point](time_per_point.png)\n")

    cpu = results.get("cpu")
    if cpu:
        ref = cpu.get("plain loop (serial reference)", {})
        n = next(iter(ref), None)
        serial = ref.get(n, {}).get("seconds") if n else None
        L.append(f"## 2. 10 ms of CPU per point, {n} points: parallel efficiency\n")
        L.append(f"Ideal = serial plain loop / {NCORES} = "
                 + (fmt_s(serial / NCORES) if serial else "–")
                 + ". Efficiency = ideal / measured.\n")
        L.append("| contender | seconds | efficiency | n |")
        L.append("|---|---:|---:|---:|")
        for label, cells in cpu.items():
            c = cells.get(n, {})
            if "seconds" not in c:
                L.append(f"| {label} | {c.get('error', c.get('not_run', '–'))} | | |")
                continue
            eff = f"{100 * serial / NCORES / c['seconds']:.0f} %" if serial else "–"
            extra = ""
            if c.get("startup_seconds"):
                extra = f" (cluster start {fmt_s(c['startup_seconds'])})"
            L.append(f"| {label} | {fmt_s(c['seconds'])}{extra} | {eff} | {c.get('n_repeats')} |")
        L.append("")

    ar = results.get("array")
    if ar:
        n = next(iter(next(iter(ar.values()))), None)
        L.append(f"## 3. {int(n):,} points, each returning 10^4 float64 (payload "
                 f"{fmt_b(int(n) * 80_000)})\n")
        L.append("| contender | seconds | throughput | file size | driver peak RSS | "
                 "RSS before run | n |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for label, cells in ar.items():
            c = cells.get(n, {})
            if "seconds" not in c:
                L.append(f"| {label} | {c.get('error', c.get('not_run', '–'))} | | | | | |")
                continue
            thr = c["payload_bytes"] / c["seconds"] / 1e6 if c.get("payload_bytes") else None
            L.append(f"| {label} | {fmt_s(c['seconds'])} | {thr:.0f} MB/s | "
                     f"{fmt_b(c.get('file_bytes'))} | {fmt_b(c.get('peak_rss'))} | "
                     f"{fmt_b(c.get('rss_at_start'))} | {c.get('n_repeats')} |")
        L.append("\nDriver peak RSS = the kernel's maxrss of the driver process (workers are "
                 "separate processes and not included). The data are pseudo-random floats "
                 "(compress only ~15 %); the h5py baselines are uncompressed.\n")

    sl = results.get("slice")
    if sl and "error" not in sl:
        L.append(f"## 4. Reopen + slice the cube of (3) ({sl.get('n'):,} points, "
                 f"{fmt_b(sl.get('file_bytes'))} file)\n")
        L.append("| opened with | whole cube | one point (x, y) | ratio | one row x = value "
                 "(1 %) | ratio |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for who, lab in (("pypetx", "`pypetx.open_results`"),
                         ("xarray", "`xr.open_dataset(engine='h5netcdf', chunks={})`")):
            full, pt, row = (sl.get(f"{k}_{who}") for k in ("full", "point", "row"))
            if full:
                L.append(f"| {lab} | {fmt_s(full)} | {fmt_s(pt)} | {100 * pt / full:.1f} % | "
                         f"{fmt_s(row)} | {100 * row / full:.1f} % |")
        L.append("\nEach read opens the file afresh (open + select + load); the file is in "
                 "the page cache for all of them (the whole cube is read first).\n")
    elif sl:
        L.append(f"## 4. Reopen + slice\n\nerror: {sl['error']}\n")

    rs = results.get("resume")
    if rs:
        L.append(f"## 5. Resume a {rs.get('n', 0):,}-point sweep that is 99 % done\n")
        L.append("| how | seconds | runs executed | n |")
        L.append("|---|---:|---:|---:|")
        desc = {
            "pypetx kill": "pypetx: driver + workers SIGKILLed at 99 %, then "
                           "`Environment(..., resume=True)` + `env.run(fn)`",
            "pypetx fail": "pypetx: 1 % of the points failed (`on_error='continue'`), then "
                           "`Environment(..., resume=True)` + `env.rerun_failed(fn)`",
            "xyzpy merge": "xyzpy: `Harvester.harvest_combos` of the missing 1 % into the "
                           "stored 99 % (serial)",
            "full sweep (trivial workload)": "reference: the whole pypetx sweep from scratch "
                                             "(workload 1, default)",
            "pypetx fresh": "pypetx: the same sweep from scratch, default (this run)",
        }
        for k, c in rs.items():
            if not isinstance(c, dict):
                continue
            if c.get("seconds") is None:
                err = [r.get("error") for r in c.get("runs", []) if "error" in r]
                L.append(f"| {desc.get(k, k)} | error: {err[:1]} | | |")
                continue
            runs_ex = c.get("runs_executed")
            L.append(f"| {desc.get(k, k)} | {fmt_s(c['seconds'])} | "
                     f"{int(runs_ex) if runs_ex is not None else '–'} | {c.get('n_repeats', '')} |")
        L.append("\nThe kill victim runs with `batch_size=100` so that the crash loses only "
                 "the batches in flight; its function hangs from run 99,000 on, and the "
                 "process group is killed 2 s after the first hang. The resume runs the "
                 "default `batch_size='auto'`, starts its own LocalCluster and consolidates "
                 "the journal into the HDF5 file.\n")

    L.extend(_client_section(results.get("client")))
    L.extend(_ratio_section(results))

    st = results.get("startup")
    if st:
        L.append("## Start-up\n")
        L.append(f"- `import pypetx` in a fresh process: {fmt_s(st.get('import_wall_seconds'))} "
                 f"wall (the bare interpreter: {fmt_s(st.get('interpreter_wall_seconds'))}); "
                 f"`-X importtime` cumulative for pypetx: "
                 f"{fmt_s(st.get('importtime_pypetx_cumulative_s'))}.")
        top = st.get("importtime_top_level") or []
        if top:
            L.append("- Heavy modules imported by `import pypetx` (cumulative): "
                     + ", ".join(f"{m} {fmt_s(s)}" for m, s in top[:10]))
        L.append(f"- 10-point sweep (pypet-style, defaults: runs in the driver, no cluster "
                 f"for so little work): {fmt_s(st.get('ten_point_seconds'))} in process after "
                 f"the imports; {fmt_s(st.get('ten_point_process_wall_seconds'))} for the whole "
                 "`python bench_pypetx.py ten` process (interpreter + imports + sweep); "
                 f"{fmt_s(st.get('ten_point_cluster_seconds'))} with the LocalCluster started "
                 "for it (`--mode cluster`).")
        L.append("")
    return "\n".join(L)


def _client_section(cl: dict | None) -> list[str]:
    """Issue #17's table: pypetx on a running Client against hand-batched Dask."""
    if not cl:
        return []
    L = ["## 6. The Dask path: a running `Client` passed as `client=`, against hand-batched "
         "Dask\n",
         "One process, one `LocalCluster(n_workers=2, threads_per_worker=1)` started before "
         "the clock; `z = x*y`, stored to HDF5, values checked; repeats interleaved, medians "
         "(`benchmarks/bench_client.py`). Marginal = (t(10^6) - t(10^4)) / (10^6 - 10^4). "
         "Ratios are to hand-batched Dask of the same run.\n",
         "| pypetx | contender | marginal µs/point | ratio | time at 10^4 | ratio | "
         "1,000 x 10 ms | efficiency |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    for label in ("before", "after"):
        res = cl.get(label)
        if not res or "rows" not in res:
            if res:
                L.append(f"| {label} | error: {res.get('error')} | | | | | | |")
            continue
        rows = res["rows"]
        base = rows[0]
        who = label if label == "after" else (
            f"before ({os.environ.get('PYPETX_BENCH_BEFORE_COMMIT', 'older commit')})")
        for r in rows:
            L.append(f"| {who} | {r['contender']} | {r['marginal_us']:.3g} | "
                     f"{r['marginal_us'] / base['marginal_us']:.1f}x | "
                     f"{r['lo_seconds']:.3g} s | {r['lo_seconds'] / base['lo_seconds']:.1f}x | "
                     f"{r['cpu_seconds']:.3g} s | {100 * r['efficiency']:.0f} % |")
    L.append("\nEach pypetx contender journals every batch (fsync'd) and writes status "
             "variables, provenance and a compressed cube; hand-batched Dask gathers 4 "
             "arrays and writes one uncompressed variable.\n")
    return L


def _ratio_section(results: dict) -> list[str]:
    """Issue #24's ratios: the default path against the plain loop, the resume path
    against a fresh sweep, large results against h5py rows."""
    def sec(*path):
        d = results
        for p in path:
            d = d.get(p) if isinstance(d, dict) else None
        return d.get("seconds") if isinstance(d, dict) else None

    rows = []
    loop = sec("trivial", "plain loop (+ xarray save)", "1000000")
    for label, what in (("pypetx sweep, default", "`sweep` default, 10^6 points"),
                        ("pypetx traj, default", "`multiply(traj)` default, 10^6 points")):
        for lab, who in ((before_label(label), "before"), (label, "after")):
            t = sec("trivial", lab, "1000000")
            if t and loop:
                rows.append((what, who, f"{t:.3g} s", f"{t / loop:.2f}x the plain loop "
                             f"({loop:.3g} s)"))
    rs = results.get("resume") or {}
    for fail, fresh, who in (("pypetx fail", "pypetx fresh", "after"),
                             (before_label("pypetx fail"), before_label("pypetx fresh"),
                              "before")):
        a, b = (rs.get(fail) or {}).get("seconds"), (rs.get(fresh) or {}).get("seconds")
        if a and b:
            rows.append((f"`rerun_failed` of 1 % of {rs.get('n', 0):,}", who, f"{a:.3g} s",
                         f"{a / b:.2f}x a fresh sweep ({b:.3g} s)"))
    ar = results.get("array") or {}
    ref = next((c.get("seconds") for c in (ar.get("plain loop -> h5py rows") or {}).values()),
               None)
    for lab, who in ((before_label("pypetx traj, default"), "before"),
                     ("pypetx traj, default", "after")):
        c = next(iter((ar.get(lab) or {}).values()), {})
        if c.get("seconds") and ref:
            rows.append(("10^4 results of 10^4 floats", who, f"{c['seconds']:.3g} s",
                         f"{ref / c['seconds']:.2f}x the throughput of the plain loop -> "
                         "h5py rows"))
    if not rows:
        return []
    L = ["## 7. Where users wait: ratios measured in this run\n",
         "| what | pypetx | seconds | ratio |", "|---|---|---:|---|"]
    L += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    L.append("")
    return L


def targets(results: dict) -> list[tuple[str, str, str]]:
    """(target, measured, verdict)"""
    out = []

    def get(*path):
        d = results
        for p in path:
            if not isinstance(d, dict) or p not in d:
                return None
            d = d[p]
        return d

    for label, lim in (("pypetx traj, default", 1.0), ("pypetx sweep, default", 0.5)):
        c = get("trivial", label, "1000000")
        if c and "seconds" in c:
            us = c["seconds"] / 1e6 * 1e6
            out.append((f"trivial 10^6 end to end ≤ {lim} µs/point ({label})", f"{us:.2f} µs",
                        "holds" if us <= lim else "does not hold"))
        else:
            out.append((f"trivial 10^6 end to end ≤ {lim} µs/point ({label})", "not measured", "–"))
    cpu = results.get("cpu", {})
    ref = cpu.get("plain loop (serial reference)", {})
    n = next(iter(ref), None)
    if n and "seconds" in ref[n]:
        for label in ("pypetx traj, default", "pypetx traj, LocalCluster from the start",
                      "pypetx traj, client started before"):
            c = cpu.get(label, {}).get(n, {})
            if "seconds" in c:
                eff = ref[n]["seconds"] / NCORES / c["seconds"]
                out.append((f"parallel efficiency ≥ 90 % ({label}, N={n})", f"{100 * eff:.0f} %",
                            "holds" if eff >= 0.9 else "does not hold"))
    for label in ("pypetx traj, default", "pypetx sweep, default"):
        c = get("trivial", label, "1000000") or get("trivial", label, "10000")
        big = "1000000" if get("trivial", label, "1000000") else "10000"
        if c and c.get("file_bytes"):
            b = c["file_bytes"] / int(big)
            out.append((f"file size per scalar point ≤ 16 B ({label}, N={int(big):,})",
                        f"{b:.1f} B", "holds" if b <= 16 else "does not hold"))
    for label, cells in results.get("array", {}).items():
        if label.startswith("pypetx"):
            c = next(iter(cells.values()))
            if c.get("peak_rss"):
                out.append((f"driver peak RSS on (3) < 1 GB ({label})", fmt_b(c["peak_rss"]),
                            "holds" if c["peak_rss"] < 1e9 else "does not hold"))
    sl = results.get("slice", {})
    if sl.get("full_pypetx"):
        for k in ("point", "row"):
            r = sl[f"{k}_pypetx"] / sl["full_pypetx"]
            out.append((f"lazy slice ≤ 1 % of full load (one {k}, pypetx.open_results)",
                        f"{100 * r:.1f} %", "holds" if r <= 0.01 else "does not hold"))
    st = results.get("startup", {})
    if st.get("import_wall_seconds"):
        net = st["import_wall_seconds"] - st.get("interpreter_wall_seconds", 0)
        out.append(("`import pypetx` ≤ 0.5 s", f"{st['import_wall_seconds']:.2f} s wall "
                    f"({net:.2f} s above the bare interpreter; importtime "
                    f"{st.get('importtime_pypetx_cumulative_s') or 0:.2f} s)",
                    "holds" if net <= 0.5 else "does not hold"))
    if st.get("ten_point_seconds"):
        out.append(("10-point sweep end to end ≤ 3 s (default: no cluster for 10 cheap points)",
                    f"{st['ten_point_seconds']:.2f} s after imports, "
                    f"{st.get('ten_point_process_wall_seconds', 0):.2f} s whole process",
                    "holds" if st["ten_point_seconds"] <= 3 else "does not hold"))
    if st.get("ten_point_cluster_seconds"):
        out.append(("10-point sweep end to end ≤ 3 s incl. starting the LocalCluster",
                    f"{st['ten_point_cluster_seconds']:.2f} s after imports",
                    "holds" if st["ten_point_cluster_seconds"] <= 3 else "does not hold"))
    return out


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = results.get("trivial", {})
    fig, ax = plt.subplots(figsize=(9, 6))
    colors = plt.get_cmap("tab20").colors
    for i, (label, cells) in enumerate(tr.items()):
        pts = sorted((int(n), c["seconds"] / int(n) * 1e6) for n, c in cells.items()
                     if "seconds" in c)
        if pts:
            style = "-o" if label.startswith("pypetx") else "--s"
            ax.plot(*zip(*pts), style, label=label, markersize=4,
                    color=colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("points N")
    ax.set_ylabel("µs per point, end to end (run + store + close)")
    ax.set_title("Trivial sweep z = x*y (%d cores)" % NCORES)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_outputs(results: dict, pys: dict, quick: bool) -> None:
    info = machine(pys)
    info["commit"] = results.get("measured_commit") or info.get("commit")
    text = report(results, info, quick)
    tg = targets(results)
    text += "\n## Targets\n\n| target | measured | verdict |\n|---|---|---|\n"
    text += "\n".join(f"| {a} | {b} | {c} |" for a, b, c in tg) + "\n"
    prof = results.get("profile")
    notes = HERE / "PROFILE_NOTES.md"
    if notes.exists():
        text += "\n" + notes.read_text()
    if prof:
        for label in ("LocalCluster", "synchronous"):  # re-summarise from the raw stacks
            rawp = (prof.get(label) or {}).get("raw_stacks")
            if rawp is None:
                for v in (prof.get(label) or {}).values():
                    if isinstance(v, str) and v.endswith(".txt"):
                        rawp = v
            if rawp and (HERE / rawp).exists():
                prof[label] = summarise_profile((HERE / rawp).read_text())
                prof[label]["raw_stacks"] = rawp
        text += "\n## Profile data (py-spy, generated)\n\n"
        for label in ("LocalCluster", "synchronous"):
            if label not in prof:
                continue
            run = prof.get(label + " run", {})
            shown = "default (mode local: local-first)" if label == "LocalCluster" else label
            text += (f"### pypetx traj, {shown}, N = {prof['n']:,} "
                     f"({fmt_s(run.get('seconds'))} under py-spy)\n\n")
            shown = [(p, d) for p, d in prof[label].items()
                     if isinstance(d, dict) and d.get("role") in ("driver", "worker")]
            for proc, d in shown[:3]:
                text += f"**{proc}** ({d['samples']} samples at 200 Hz)\n\n"
                text += ("pypetx frames, inclusive % of this process's active samples"
                         + (" inside the sweep" if d["role"] == "driver" else "") + ":\n\n")
                text += "\n".join(f"- {p} % {f}" for f, p in d["pypetx_inclusive"][:12]) + "\n\n"
                text += "hottest leaf functions (self %):\n\n"
                text += "\n".join(f"- {p} % {f}" for f, p in d["self_top"][:10]) + "\n\n"
    out = HERE / ("RESULTS-quick.md" if quick else "RESULTS.md")
    out.write_text(text)
    plot(results, HERE / ("time_per_point-quick.png" if quick else "time_per_point.png"))
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small N, one repeat (minutes)")
    ap.add_argument("--only", default="", help="comma-separated: " + ",".join(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--report", action="store_true", help="only rewrite the report")
    ap.add_argument("--match", default="", help="comma-separated substrings: re-run only "
                    "the contenders whose label contains one (trivial/cpu/array), keeping "
                    "the other stored results")
    args = ap.parse_args()
    pys = setup()
    raw = WORK / f"results-{'quick' if args.quick else 'full'}.json"
    bench = Bench(pys, args.quick, args.repeats)
    bench.match = [m for m in args.match.split(",") if m]
    if raw.exists():
        bench.results = json.loads(raw.read_text())
    if not args.report:
        # the commit measured; --report rewrites the text later without re-measuring
        bench.results["measured_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, text=True, capture_output=True
        ).stdout.strip()
        only = [w for w in args.only.split(",") if w] or WORKLOADS
        for w in only:
            if w not in WORKLOADS:
                raise SystemExit(f"unknown workload {w!r}; choose from {WORKLOADS}")
        for w in WORKLOADS:
            if w in only:
                if not bench.match or w not in ("trivial", "cpu", "array"):
                    bench.results.pop(w, None)
                t0 = time.perf_counter()
                getattr(bench, w)()
                print(f"[{w}] done in {time.perf_counter() - t0:.0f} s", flush=True)
    write_outputs(bench.results, pys, args.quick)


if __name__ == "__main__":
    main()
