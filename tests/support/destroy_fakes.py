"""Fake `terraform`, `cdktf` and app (main.py) for the destroy and sandbox-reset tests.

Each is a real executable: `terraform` is found on PATH as the code under test finds it,
and every call is appended to a record (tool, `-chdir`, arguments, the variables that
matter, never a password). `terraform state list` answers with the addresses a test gives,
or like Terraform before the first apply ("No state file was found!", exit 1); the state
files (`terraform.<stack>.tfstate` in the test's folder) exist exactly when it has
addresses to give, as after a real apply. The app
writes the stack JSON a test gives (usually a real synthesized stack) where cdktf would.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.deploy.cdktf_steps import Commands
from stacks.local.credentials import ensure_credentials
from stacks.settings import PROJECT_ROOT
from tests.support.fakes import write_python_tool

_RECORD = """
import json, os, sys
def record(tool, args, chdir=None):
    env = {k: os.environ.get(k) for k in ("ZOOMCAMP_STACKS", "ZOOMCAMP_SANDBOX")}
    env["tf_vars"] = sorted(k for k in os.environ if k.startswith("TF_VAR_"))
    with open(os.environ["FAKE_RECORD"], "a") as handle:
        handle.write(json.dumps({"tool": tool, "chdir": chdir, "args": args, "env": env}) + "\\n")
"""

FAKE_TERRAFORM = (
    _RECORD
    + """
args = sys.argv[1:]
chdir = args.pop(0)[len("-chdir="):] if args and args[0].startswith("-chdir=") else None
record("terraform", args, chdir)
if args[:2] == ["state", "list"]:
    if "FAKE_TF_STATE" not in os.environ:
        print("No state file was found!", file=sys.stderr)
        sys.exit(1)
    print(os.environ["FAKE_TF_STATE"])
    sys.exit(0)
code = int(os.environ.get("FAKE_TF_" + args[0].upper() + "_EXIT", "0"))
print("fake terraform " + args[0] + (" failed" if code else " complete"), flush=True)
sys.exit(code)
"""
)

FAKE_CDKTF = (
    _RECORD
    + """
record("cdktf", sys.argv[1:])
print("fake cdktf: Apply complete!", flush=True)
sys.exit(int(os.environ.get("FAKE_CDKTF_EXIT", "0")))
"""
)

FAKE_APP = """
import os, shutil
target = os.path.join(os.environ["CDKTF_OUTDIR"], "stacks", os.environ["ZOOMCAMP_STACKS"])
os.makedirs(target, exist_ok=True)
shutil.copyfile(os.environ["FAKE_APP_JSON_FILE"], os.path.join(target, "cdk.tf.json"))
"""

_OURS = ("KESTRA_", "ZOOMCAMP_", "PGADMIN_", "GCP_", "DEBUG", "TF_VAR_", "FAKE_", "GOOGLE_")


@dataclass(frozen=True)
class FakeTools:
    root: Path
    commands: Commands
    credentials: Path
    base_env: Mapping[str, str]

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.base_env, **extra}

    def calls(self) -> list[dict[str, Any]]:
        record = self.root / "record.jsonl"
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text().splitlines()]


def fake_tools(
    root: Path,
    stack_json: Mapping[str, Any],
    deployed: Sequence[str] | None = None,
    with_credentials: bool = False,
) -> FakeTools:
    """Fakes in `root/bin`; `deployed` is what `terraform state list` prints (None: no state yet)."""
    bin_dir = root / "bin"
    write_python_tool(bin_dir, "terraform", FAKE_TERRAFORM)
    cdktf = write_python_tool(bin_dir, "cdktf", FAKE_CDKTF)
    app = write_python_tool(bin_dir, "app", FAKE_APP)
    app_json = root / "app.json"
    app_json.write_text(json.dumps(stack_json))
    commands = Commands(
        project_root=PROJECT_ROOT,
        python=(sys.executable, str(app)),
        cdktf=(sys.executable, str(cdktf)),
        outdir=str(root / "cdktf.out"),
        state_root=root,
    )  # terraform stays the default `terraform`, found on PATH
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "GCP_PROJECT_ID": "zoomcamp-test-project",
            "FAKE_RECORD": str(root / "record.jsonl"),
            "FAKE_APP_JSON_FILE": str(app_json),
        }
    )
    if deployed is not None:
        env["FAKE_TF_STATE"] = "\n".join(deployed)
        for stack in ("local", "gcp"):  # what an apply leaves (the content is Terraform's business)
            (root / f"terraform.{stack}.tfstate").write_text('{"version": 4, "resources": []}\n')
    credentials = root / "secrets" / "local.env"
    if with_credentials:
        ensure_credentials(env, credentials)
    return FakeTools(root, commands, credentials, env)
