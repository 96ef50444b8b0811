"""GCP settings: defaults, names checked against the services' rules, project and Git resolution.

Every bad value stops synth with one line naming the variable and the fix. Nothing here loads
the google provider, and Application Default Credentials are replaced by stand-ins: tests never
read the developer's real credentials.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stacks.gcp import target as gcp_target
from stacks.gcp.names import gcp_names
from stacks.gcp.target import GcpTargetError, NoProjectError, resolve_gcp_target, resolve_git_url
from stacks.settings import Settings, SettingsError
from tests.support.gcp_env import GCP_ENV, gcp_settings
from tests.support.synth import BASE_ENV


def no_adc() -> str | None:
    return None


def test_defaults() -> None:
    gcp = Settings.from_env({}).gcp
    assert gcp.project_id is None
    assert (gcp.region, gcp.zone, gcp.bucket_name, gcp.dataset) == ("europe-west2", None, None, "zoomcamp")
    assert gcp.machine_type == "e2-standard-2"
    assert gcp.allowed_cidrs == ()
    assert gcp.raw_csv_retention_days == 30
    git = gcp.git
    assert (git.url, git.branch, git.flows_directory, git.files_directory) == (None, "main", "flows", "dbt")
    assert (git.cron, git.delete_missing) == ("*/15 * * * *", True)


def test_default_names_derive_from_the_project() -> None:
    target = resolve_gcp_target(gcp_settings(), project_lookup=no_adc)
    assert target.project_id == "zoomcamp-test-project"
    assert (target.region, target.zone, target.location) == ("europe-west2", "europe-west2-b", "europe-west2")
    assert target.bucket_name == "zoomcamp-test-project-zoomcamp-data"
    assert target.dataset == "zoomcamp"
    names = gcp_names("zoomcamp", target)
    assert names.internal_storage_bucket == "zoomcamp-test-project-zoomcamp-kestra"
    assert (names.service_account_id, names.instance) == ("zoomcamp-kestra", "zoomcamp-kestra")


def test_good_overrides_are_taken() -> None:
    settings = gcp_settings(
        {
            "GCP_REGION": "us-central1",
            "GCP_ZONE": "us-central1-f",
            "GCP_BUCKET_NAME": "my-taxi-lake_2026",
            "GCP_DATASET": "ny_taxi",
            "GCP_MACHINE_TYPE": "e2-standard-4",
            "GCP_ALLOWED_CIDRS": "203.0.113.7/32, 198.51.100.0/24",
            "GCP_RAW_CSV_RETENTION_DAYS": "90",
            "GCP_GITHUB_REPOSITORY": "My-Org/zoomcamp.kestra_2",
            "ZOOMCAMP_GIT_BRANCH": "feature/gcp-flows",
            "ZOOMCAMP_GIT_FLOWS_DIR": "kestra/flows",
            "ZOOMCAMP_GIT_FILES_DIR": "analytics/dbt",
            "ZOOMCAMP_GIT_SYNC_CRON": "0 * * * *",
            "ZOOMCAMP_GIT_SYNC_DELETE": "false",
        }
    )
    target = resolve_gcp_target(settings, project_lookup=no_adc)
    assert (target.region, target.zone, target.bucket_name, target.dataset) == (
        "us-central1",
        "us-central1-f",
        "my-taxi-lake_2026",
        "ny_taxi",
    )
    gcp = settings.gcp
    assert gcp.allowed_cidrs == ("203.0.113.7/32", "198.51.100.0/24")
    assert gcp.github_repository == "My-Org/zoomcamp.kestra_2"
    assert (gcp.machine_type, gcp.raw_csv_retention_days) == ("e2-standard-4", 90)
    assert gcp.git.branch == "feature/gcp-flows"
    assert (gcp.git.flows_directory, gcp.git.files_directory) == ("kestra/flows", "analytics/dbt")
    assert (gcp.git.cron, gcp.git.delete_missing) == ("0 * * * *", False)


BAD_INPUTS = [
    ({"GCP_PROJECT_ID": "123456789012"}, "GCP_PROJECT_ID='123456789012' must be a Google Cloud project id"),
    ({"GCP_PROJECT_ID": "My Project"}, "(the id, not the project's name or number)"),
    ({"GCP_REGION": "europe"}, "GCP_REGION='europe' must be a Google Cloud region such as europe-west2"),
    ({"GCP_ZONE": "us-central1-a"}, "GCP_ZONE='us-central1-a' is not in GCP_REGION 'europe-west2'"),
    ({"GCP_ZONE": "b"}, "GCP_ZONE='b' must be a Compute Engine zone such as europe-west2-b"),
    ({"GCP_BUCKET_NAME": "My_Bucket"}, "GCP_BUCKET_NAME='My_Bucket' must be lower-case letters, digits"),
    ({"GCP_BUCKET_NAME": "ab"}, "GCP_BUCKET_NAME='ab' must be 3-63 characters"),
    ({"GCP_BUCKET_NAME": "data.example.com"}, "dots are not supported here"),
    ({"GCP_BUCKET_NAME": "google-taxi-data"}, "must not start with 'goog' or contain 'google'"),
    ({"GCP_BUCKET_NAME": "-taxi-"}, "starting and ending with a letter or digit"),
    ({"GCP_DATASET": "ny-taxi"}, "GCP_DATASET='ny-taxi' must use only letters, digits and underscores"),
    ({"GCP_DATASET": "ny-taxi"}, "try 'ny_taxi'"),
    ({"GCP_DATASET": "ny taxi!"}, "try 'ny_taxi_'"),
    ({"GCP_MACHINE_TYPE": "big"}, "GCP_MACHINE_TYPE='big' must be a Compute Engine machine type such as e2-standard-2"),
    ({"GCP_ALLOWED_CIDRS": "0.0.0.0/0"}, "GCP_ALLOWED_CIDRS='0.0.0.0/0' has '0.0.0.0/0', wider than /24"),
    ({"GCP_ALLOWED_CIDRS": "203.0.113.7/32,10.0.0.0/8"}, "has '10.0.0.0/8', wider than /24: list your own address"),
    ({"GCP_ALLOWED_CIDRS": "198.51.100.0/23"}, "has '198.51.100.0/23', wider than /24"),
    ({"GCP_ALLOWED_CIDRS": "2001:db8::/56"}, "has '2001:db8::/56': the VM has no IPv6 address; list IPv4 ranges"),
    (
        {"GCP_GITHUB_REPOSITORY": "zoomcamp-kestra"},
        "GCP_GITHUB_REPOSITORY='zoomcamp-kestra' must be a GitHub repository",
    ),
    ({"GCP_GITHUB_REPOSITORY": "https://github.com/me/repo"}, "must be a GitHub repository as owner/name"),
    ({"GCP_GITHUB_REPOSITORY": "me/repo' || true"}, "must be a GitHub repository as owner/name"),
    ({"GCP_GITHUB_REPOSITORY": "-me/repo"}, "must be a GitHub repository as owner/name"),
    ({"GCP_GITHUB_REPOSITORY": "me/.."}, "must be a GitHub repository as owner/name"),
    ({"GCP_ALLOWED_CIDRS": "203.0.113.7/24"}, "did you mean 203.0.113.0/24?"),
    ({"GCP_ALLOWED_CIDRS": "my-laptop"}, "has 'my-laptop', not an IPv4 CIDR range"),
    ({"GCP_RAW_CSV_RETENTION_DAYS": "0"}, "GCP_RAW_CSV_RETENTION_DAYS='0' must be a whole number of days from 1"),
    (
        {"ZOOMCAMP_GIT_URL": "git@github.com:me/repo.git"},
        "ZOOMCAMP_GIT_URL='git@github.com:me/repo.git' must be an https",
    ),
    ({"ZOOMCAMP_GIT_URL": "http://github.com/me/repo.git"}, "must be an https:// Git URL"),
    ({"ZOOMCAMP_GIT_BRANCH": "main..dev"}, "ZOOMCAMP_GIT_BRANCH='main..dev' must be a Git branch name"),
    (
        {"ZOOMCAMP_GIT_FLOWS_DIR": "/flows"},
        "ZOOMCAMP_GIT_FLOWS_DIR='/flows' must be a folder path inside the repository",
    ),
    ({"ZOOMCAMP_GIT_FLOWS_DIR": "../flows"}, "no leading '/', no '..'"),
    ({"ZOOMCAMP_GIT_FILES_DIR": "dbt/../.."}, "ZOOMCAMP_GIT_FILES_DIR='dbt/../..' must be a folder path"),
    ({"ZOOMCAMP_GIT_SYNC_CRON": "@hourly"}, "ZOOMCAMP_GIT_SYNC_CRON='@hourly' must be a 5-field cron expression"),
    (
        {"ZOOMCAMP_GIT_SYNC_CRON": "*/15 * * * 8"},
        "ZOOMCAMP_GIT_SYNC_CRON='*/15 * * * 8' must be a 5-field cron expression such as '*/15 * * * *' "
        "(every 15 minutes): value 8 out of range for 'weekday'",
    ),
    ({"ZOOMCAMP_GIT_SYNC_DELETE": "sometimes"}, "ZOOMCAMP_GIT_SYNC_DELETE='sometimes' must be true or false"),
    (
        {"ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "perhaps"},
        "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS='perhaps' must be true or false",
    ),
]


@pytest.mark.parametrize(
    ("env", "message"), BAD_INPUTS, ids=[f"{next(iter(e))}={next(iter(e.values()))}" for e, _ in BAD_INPUTS]
)
def test_bad_gcp_setting_fails_with_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert len(text.splitlines()) == 1, text
    assert message in text


def test_a_git_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ZOOMCAMP_GIT_URL": "https://me:ghp_s3cr3tToken@github.com/me/repo.git"})
    text = str(caught.value)
    assert "ZOOMCAMP_GIT_URL must not contain credentials" in text
    assert "s3cr3t" not in text


def test_project_comes_from_adc_when_not_set() -> None:
    settings = Settings.from_env({**GCP_ENV, "ZOOMCAMP_STACKS": "gcp"})
    target = resolve_gcp_target(settings, project_lookup=lambda: "adc-project-42")
    assert target.project_id == "adc-project-42"
    assert target.bucket_name == "adc-project-42-zoomcamp-data"


def test_the_environment_wins_over_adc() -> None:
    target = resolve_gcp_target(gcp_settings(), project_lookup=lambda: "adc-project-42")
    assert target.project_id == "zoomcamp-test-project"


def test_no_project_anywhere_is_one_line_naming_both_fixes_and_the_local_only_way() -> None:
    with pytest.raises(NoProjectError) as caught:
        resolve_gcp_target(Settings.from_env({}), project_lookup=no_adc)
    text = str(caught.value)
    assert len(text.splitlines()) == 1
    assert "set GCP_PROJECT_ID=<your-project-id>" in text
    assert "gcloud auth application-default login" in text
    assert "ZOOMCAMP_STACKS=local" in text


def test_adc_lookup_without_credentials_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def refuse() -> None:
        raise DefaultCredentialsError("no credentials")

    monkeypatch.setattr(google.auth, "default", refuse)
    assert gcp_target.adc_project() is None
    monkeypatch.setattr(google.auth, "default", lambda: (object(), "from-adc-1"))
    assert gcp_target.adc_project() == "from-adc-1"


def test_a_derived_bucket_name_that_breaks_the_rules_names_the_fix() -> None:
    settings = Settings.from_env({**BASE_ENV, "GCP_PROJECT_ID": "my-google-lab"})
    with pytest.raises(GcpTargetError, match=r"derived from the project and ZOOMCAMP_PREFIX, .*set GCP_BUCKET_NAME"):
        resolve_gcp_target(settings, project_lookup=no_adc)


@pytest.mark.parametrize("prefix", ["zoom_camp", "zoomcamp.dev", "1zoomcamp", "zoomcamp-", "a-very-long-prefix-name"])
def test_gcp_names_need_a_stricter_prefix(prefix: str) -> None:
    target = resolve_gcp_target(gcp_settings(), project_lookup=no_adc)
    with pytest.raises(GcpTargetError) as caught:
        gcp_names(prefix, target)
    assert str(caught.value).startswith(f"ZOOMCAMP_PREFIX={prefix!r} must be 1-20 lower-case letters")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://github.com/me/zoomcamp-kestra.git", "https://github.com/me/zoomcamp-kestra.git"),
        ("git@github.com:me/zoomcamp-kestra.git", "https://github.com/me/zoomcamp-kestra.git"),
        ("ssh://git@gitlab.com/me/zoomcamp-kestra.git", "https://gitlab.com/me/zoomcamp-kestra.git"),
        ("https://me:token@github.com/me/zoomcamp-kestra.git", None),
        ("/srv/git/zoomcamp-kestra", None),
        (None, None),
    ],
    ids=["https", "scp-ssh", "ssh-url", "with-credentials", "local-path", "no-origin"],
)
def test_git_url_defaults_to_the_origin_remote_as_https(
    tmp_path: Path, origin: str | None, expected: str | None
) -> None:
    git(tmp_path, "init", "--quiet")
    if origin:
        git(tmp_path, "remote", "add", "origin", origin)
    assert gcp_target.origin_https_url(str(tmp_path)) == expected


def test_no_git_url_and_no_origin_is_one_line_with_the_fix() -> None:
    settings = Settings.from_env({**BASE_ENV, "ZOOMCAMP_STACKS": "gcp"})
    with pytest.raises(GcpTargetError) as caught:
        resolve_git_url(settings, origin_lookup=lambda: None)
    assert str(caught.value).startswith("ZOOMCAMP_GIT_URL is not set and this checkout has no https-usable `origin`")
    assert resolve_git_url(gcp_settings(), origin_lookup=lambda: None) == GCP_ENV["ZOOMCAMP_GIT_URL"]
    assert resolve_git_url(settings, origin_lookup=lambda: "https://example.org/x.git") == "https://example.org/x.git"


FEDERATED = '{"type": "external_account", "audience": "//iam.googleapis.com/x", "credential_source": {"file": "/t"}}'


def test_google_credentials_file_is_found_and_checked_only_when_asked(tmp_path: Path) -> None:
    on = {"ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "true"}
    key = tmp_path / "federated.json"
    key.write_text(FEDERATED, encoding="utf-8")
    assert Settings.from_env({"GOOGLE_APPLICATION_CREDENTIALS": str(key)}).local.google_credentials_file is None
    explicit = {**on, "GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    assert Settings.from_env(explicit).local.google_credentials_file == str(key)
    adc = tmp_path / "home" / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text(FEDERATED, encoding="utf-8")
    home = {"HOME": str(tmp_path / "home")}
    assert Settings.from_env(home).local.google_credentials_file is None
    assert Settings.from_env({**home, **on}).local.google_credentials_file == str(adc)
    assert Settings.from_env({**on, "CLOUDSDK_CONFIG": str(adc.parent)}).local.google_credentials_file == str(adc)
    assert Settings.from_env({**on, "HOME": str(tmp_path / "nobody")}).local.google_credentials_file is None


def test_a_missing_credentials_file_fails_before_docker_mounts_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "gone.json"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"GOOGLE_APPLICATION_CREDENTIALS": str(missing), "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS": "1"})
    text = str(caught.value)
    assert len(text.splitlines()) == 1
    assert f"GOOGLE_APPLICATION_CREDENTIALS='{missing}' must be the absolute path of an existing file" in text
    assert "ZOOMCAMP_MOUNT_GOOGLE_CREDENTIALS=false" in text
