"""Draw ``docs/images/multiply-heatmap.png``, the picture README.md shows.

It is the figure ``examples/multiply.py`` draws (the classic z = x * y sweep), run in a
temporary directory: ``python docs/make_readme_image.py``. Rerun it when the example's
figure changes; the PNG is committed so that the README shows it on GitHub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "images" / "multiply-heatmap.png"


def main() -> Path:
    with tempfile.TemporaryDirectory(prefix="pypetx-readme-") as tmp:
        env = dict(os.environ, MPLBACKEND="Agg", DASK_PYPETX__LOCAL__DASHBOARD_ADDRESS=":0",
                   DASK_PYPETX__PROGRESS="False")
        subprocess.run([sys.executable, str(ROOT / "examples" / "multiply.py")], cwd=tmp,
                       env=env, check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(Path(tmp) / "multiply.png", TARGET)
    print(f"wrote {TARGET}")
    return TARGET


if __name__ == "__main__":
    main()
