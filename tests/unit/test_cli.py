"""main.py as a user runs it: bad input is one line on stderr, exit code 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_main(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "DEBUG"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env={**clean, "ZOOMCAMP_STACKS": "local", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_settings_print_one_line_without_traceback(tmp_path: Path) -> None:
    result = run_main({"KESTRA_PORT": "99999"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: KESTRA_PORT='99999' must be a port number from 1 to 65535"
    assert "Traceback" not in result.stderr and "Node" not in result.stderr


def test_debug_brings_the_traceback_back(tmp_path: Path) -> None:
    result = run_main({"KESTRA_PORT": "99999", "DEBUG": "1"}, tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_good_settings_synthesize_silently(tmp_path: Path) -> None:
    result = run_main({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "no jsii Node banner or warnings on a normal run"
    assert (tmp_path / "cdktf.out" / "stacks" / "local" / "cdk.tf.json").exists()


def without_google(tmp_path: Path) -> dict[str, str]:
    """An environment in which no Google project can be found (no ADC, empty gcloud config)."""
    config = tmp_path / "gcloud"
    config.mkdir(exist_ok=True)
    return {"CLOUDSDK_CONFIG": str(config), "GOOGLE_APPLICATION_CREDENTIALS": "", "GCP_PROJECT_ID": ""}


def test_plain_cdktf_deploy_local_works_without_google_cloud(tmp_path: Path) -> None:
    """`npx cdktf deploy local` on a fresh clone: ZOOMCAMP_STACKS unset, no project anywhere."""
    env = {**without_google(tmp_path), "ZOOMCAMP_STACKS": "", "ZOOMCAMP_GIT_URL": "https://example.com/fork.git"}
    result = run_main(env, tmp_path)
    assert result.returncode == 0, result.stderr
    # Information goes to stdout: cdktf shows the app's stdout as text and its stderr as [ERROR].
    assert result.stderr == ""
    assert result.stdout.startswith("note: gcp stack not built: no Google Cloud project: set GCP_PROJECT_ID=")
    assert result.stdout.rstrip().endswith("(only the local stack was built; ZOOMCAMP_STACKS=gcp makes this an error)")
    assert [p.name for p in (tmp_path / "cdktf.out" / "stacks").iterdir()] == ["local"]


def test_asking_for_the_gcp_stack_without_a_project_is_an_error(tmp_path: Path) -> None:
    env = {**without_google(tmp_path), "ZOOMCAMP_STACKS": "gcp", "ZOOMCAMP_GIT_URL": "https://example.com/fork.git"}
    result = run_main(env, tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no Google Cloud project: set GCP_PROJECT_ID=")
    assert not (tmp_path / "cdktf.out" / "stacks" / "gcp").exists()
