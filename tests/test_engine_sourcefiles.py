"""Tracebacks of functions shipped by value name the user's file, not "<dynamic-code>"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import traceback
import types

import cloudpickle

import pypetx
from pypetx.engine.sourcefiles import DYNAMIC, restore_source_files, source_files


def _script_function(path: str):
    """``f`` of a module that cannot be imported (as a script's): pickled by value."""
    code = textwrap.dedent("""
        def helper(x):
            if x == 2:
                raise ValueError("boom")
            return x

        def f(x):
            return helper(x)
    """)
    mod = types.ModuleType("a_users_script")
    exec(compile(code, path, "exec"), mod.__dict__)
    mod.f.__module__ = mod.helper.__module__ = "a_users_script"
    return mod.f


def _trace(fn) -> str:
    try:
        fn(2)
    except ValueError:
        return traceback.format_exc()
    raise AssertionError("no error")


def test_restored_functions_name_their_file_in_tracebacks(tmp_path):
    path = str(tmp_path / "users_script.py")
    f = _script_function(path)
    files = source_files(f)
    assert set(files.values()) == {path} and len(files) == 2  # f and the helper it calls
    g = cloudpickle.loads(cloudpickle.dumps(f))
    assert DYNAMIC in _trace(g)  # what cloudpickle alone gives
    restore_source_files(files, g)
    text = _trace(g)
    assert DYNAMIC not in text
    assert f'File "{path}", line 4, in helper' in text
    assert f'File "{path}", line 8, in f' in text


SCRIPT = textwrap.dedent("""
    import sys
    import pypetx

    def f(x):
        if x == 2:
            raise ValueError("boom")
        return x

    if __name__ == "__main__":
        pypetx.sweep(f, x=[0, 1, 2, 3], on_error="continue", filename=sys.argv[1],
                     cluster=sys.argv[2])
""")


def test_a_failed_runs_stored_traceback_names_the_script_and_line(tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(SCRIPT)
    for cluster in ("local", "synchronous"):
        out = tmp_path / f"{cluster}.h5"
        proc = subprocess.run([sys.executable, str(script), str(out), cluster],
                              capture_output=True, text=True, timeout=180,
                              env={**__import__("os").environ,
                                   "DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS": ":0"})
        assert proc.returncode == 0, proc.stderr
        tb = str(pypetx.traceback_of(pypetx.open_results(out), x=2))
        assert f'File "{script}", line 7, in f' in tb, tb
        assert 'raise ValueError("boom")' in tb  # the source line: the file is readable
