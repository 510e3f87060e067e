"""Failed runs at scale: the first few logged one by one, then one summary line."""

from __future__ import annotations

import logging

import pypetx
from pypetx.env.faillog import FIRST_LOGGED, FailureLog


def _fails(x):
    if x % 10 == 3:
        raise ValueError(f"bad x={x}")
    if x % 10 == 7:
        raise KeyError(x)
    return x


def test_a_thousand_failures_log_a_handful_of_lines_and_a_summary(caplog, tmp_path):
    with caplog.at_level(logging.WARNING, logger="pypetx"):
        ds = pypetx.sweep(_fails, x=list(range(5000)), on_error="continue",
                          filename=tmp_path / "f.h5")
    lines = [r.getMessage() for r in caplog.records if r.name == "pypetx"]
    assert int(ds.failed.sum()) == 1000
    per_run = [m for m in lines if ": run " in m and " failed: " in m]
    assert len(per_run) == FIRST_LOGGED, lines
    summary = [m for m in lines if "1000 runs failed" in m]
    assert len(summary) == 1, lines
    assert "ValueError x500" in summary[0] and "KeyError x500" in summary[0]
    assert "first runs 3, 7, 13, 17, 23..." in summary[0]
    assert "pypetx.failures" in summary[0]
    assert len(lines) <= FIRST_LOGGED + 3, lines  # not one line per failed run
    assert len(pypetx.failures(ds)) == 1000  # every traceback is still stored


def test_few_failures_are_each_logged_and_need_no_summary(caplog):
    with caplog.at_level(logging.WARNING, logger="pypetx"):
        flog = FailureLog("t")
        flog.add(4, "ValueError: no")
        flog.add(2, "ValueError: no")
        flog.log_summary("see there")
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["t: run 4 failed: ValueError: no", "t: run 2 failed: ValueError: no"]
    assert flog.summary("see there") == (
        "t: 2 runs failed (ValueError x2); first runs 2, 4; see there")
    assert FailureLog("t").summary("x") is None
