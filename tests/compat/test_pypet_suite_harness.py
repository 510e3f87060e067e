"""tests/pypet_suite/run.py: how it names pypet's public names and sorts test outcomes."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "pypet_suite" / "run.py"
spec = importlib.util.spec_from_file_location("pypet_suite_run", HARNESS)
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def test_public_names_of_a_pypet_module(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import os\nfrom pypet.parameter import Parameter, _hidden\n"
                      "from numpy import array\nX = 1\n_y = 2\ndef f(): pass\nclass C: pass\n")
    assert run.public_names(source) == ["Parameter", "X", "f", "C"]


def test_outcomes_private_names_are_counted_apart(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text("""<testsuites><testsuite>
      <testcase classname="pypet.tests.unittests.a_test.T" name="ok"/>
      <testcase classname="pypet.tests.unittests.a_test.T" name="bad">
        <failure message="AssertionError: 1 != 2"/></testcase>
      <testcase classname="pypet.tests.unittests.a_test.T" name="priv">
        <error message="AttributeError: 'Parameter' object has no attribute '_explore'"/></testcase>
      <testcase classname="pypet.tests.unittests.b_test.T" name="skip"><skipped/></testcase>
    </testsuite></testsuites>""")
    per = run.count(xml)
    assert dict(per["pypet.tests.unittests.a_test"]) == {"passed": 1, "failed": 1, "private": 1}
    assert dict(per["pypet.tests.unittests.b_test"]) == {"skipped": 1}
    assert "priv" in run.failures(xml) and "ok" not in run.failures(xml)
    public = ET.fromstring('<testcase><error message="AttributeError: no v_name"/></testcase>')
    assert run.outcome(public) == "failed"
