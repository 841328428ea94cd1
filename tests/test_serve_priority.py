"""`manage.py serve` starts its worker at a lower CPU priority than the web (docs/operations.md, "One machine")."""

import os
import subprocess
import sys

from annotate.management.commands.serve import WORKER_NICENESS, lower_priority


def test_the_worker_process_runs_at_a_lower_cpu_priority_than_its_parent():
    ours = os.nice(0)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        preexec_fn=lower_priority,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(child.stdout) == min(ours + WORKER_NICENESS, 19)
