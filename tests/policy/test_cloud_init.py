"""The VM's user-data is valid cloud-config, checked by cloud-init's own `cloud-init schema`.

cloud-init comes from Debian's package (tools/ensure_test_tools.sh installs it for `make test`
and CI). A broken document must fail the same check, or the check proves nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.policy.gcp_rules import user_data_of


def cloud_init_schema(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("cloud-init")
    assert binary, "cloud-init is missing: run tools/ensure_test_tools.sh (make test does)"
    return subprocess.run(
        [binary, "schema", "--config-file", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_rendered_user_data_is_valid_cloud_config(gcp_synth: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "user-data"
    path.write_text(user_data_of(gcp_synth), encoding="utf-8")
    result = cloud_init_schema(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ({"packages": "docker.io"}, "packages"),
        ({"runcmd": {"start": "kestra"}}, "runcmd"),
        ({"write_files": [{"content": "no path"}]}, "write_files"),
    ],
    ids=["packages-not-a-list", "runcmd-not-a-list", "file-without-path"],
)
def test_broken_user_data_fails_the_schema(
    gcp_synth: dict[str, Any], tmp_path: Path, breakage: dict[str, Any], message: str
) -> None:
    document = yaml.safe_load(user_data_of(gcp_synth))
    document.update(breakage)
    path = tmp_path / "user-data"
    path.write_text("#cloud-config\n" + yaml.safe_dump(document), encoding="utf-8")
    result = cloud_init_schema(path)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
