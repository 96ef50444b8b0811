"""`make doctor`: find the environment problems that would break a deploy, before it starts.

Most of the course's support questions are a busy port, Docker not running, missing Google
credentials or the wrong project, found ten minutes into a deploy. Each check here prints
✓ or ✗ with one line saying what to do; the exit code is non-zero when a deploy would
fail, and `--json` gives the same report to CI.

    python -m ops.doctor [--stack local|gcp] [--json]
"""

from ops.doctor.model import CheckResult, Report, Status
from ops.doctor.runner import run_doctor

__all__ = ["CheckResult", "Report", "Status", "run_doctor"]
