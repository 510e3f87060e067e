from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    # .ci/run sets PYPETX_NO_SLURM=1 when ci/slurm/start.sh could not start SLURM
    reason = None
    if os.environ.get("PYPETX_NO_SLURM"):
        reason = "PYPETX_NO_SLURM is set (ci/slurm/start.sh did not start SLURM)"
    elif shutil.which("sinfo") is None:
        reason = "no SLURM here: run ci/slurm/start.sh as root"
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if "slurm" in item.keywords:
                item.add_marker(skip)
