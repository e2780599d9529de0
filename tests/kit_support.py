"""Running a conformance kit's broken plug-ins with assertions stripped (``python -O``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def checks_failing_under_python_o(module: str, kit: str, arguments: str) -> list[str]:
    """Names of the checks that raised ConformanceError on ``module``'s BROKEN plug-ins, under -O.

    ``module`` (a test module next to this one) defines ``BROKEN`` (check name ->
    (factory, message)), the kit named ``kit`` and whatever ``arguments`` (the
    text after the plug-in in each call) uses. The script first proves that
    assertions are off.
    """
    code = (
        f"from {module} import *\n"
        "from rfm_retention.errors import ConformanceError\n"
        "assert False, 'assertions are on'\n"
        "for name, (make, _) in BROKEN.items():\n"
        "    try:\n"
        f"        {kit}[name](make(), {arguments})\n"
        "    except ConformanceError as exc:\n"
        "        print(exc.check)\n"
    )
    run = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent, check=True, timeout=600)
    return run.stdout.split()
