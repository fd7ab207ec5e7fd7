"""The pipeline documented in docs/gitlab-ci.md, run by gitlab-ci-local (GitLab's pipeline logic on
this machine: `rules:`, stages, manual jobs, CI/CD variables, artifacts, dotenv reports) with its
shell executor, against a `kdeploy emulator` this module starts. The project is a temp git clone
of the example project with the docs' `# .gitlab-ci.yml` block written as `.gitlab-ci.yml`; CI/CD
variables come from `.gitlab-ci-local-variables.yml` (the kubeconfig as a File variable, secrets
scoped per environment) and `--variable`.

gitlab-ci-local and rsync are installed by `make tools` (.ci/fetch-gitlab-ci-local.sh) into
.tools/. Without them the module is skipped with one reason, or fails when
KDEPLOY_REQUIRE_REAL_CLUSTER=1 (CI), as the real-control-plane tier does.

What it proves, each from the user's side (job results, job logs, artifacts, cluster state):
a first deploy (staging, then the manual prod job), a merge-request pipeline's diff job showing
the change, an --atomic rollout that fails and is rolled back, the manual rollback job of an older
pipeline, two concurrent deploys of one environment (one waits for the lock, history stays
consistent), and that no secret fed through CI variables reaches any job log or artifact."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_gitlab_mr_note import TOKEN, GitLabStub, _handler
from tests.e2e.test_gitlab_pipeline import documented_pipeline
from tests.helpers import LiveCluster, git

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".tools" / "bin"

# Secret values, fed only through CI/CD variables (the kubeconfig is a File variable too).
DB_URL = {
    "staging": "postgres://shop:St4g+Pa55/w0rd=@db.staging:5432/shop",
    "prod": "postgres://shop:Pr0d+Pa55/w0rd=@db.prod:5432/shop",
}
SESSION_SECRET = "sess-Xy9/+Qz=secret-7731"
SECRETS = [*DB_URL.values(), SESSION_SECRET, TOKEN]

# The example's prod environment gets its web secrets from CI variables (staging extends prod).
PROD_SECRETS = """\
    secrets:
      secret.data.DATABASE_URL: {env: DATABASE_URL}
      secret.data.SESSION_SECRET: {file: $SESSION_SECRET_FILE}
"""


def _missing(reason: str) -> None:
    if os.environ.get("KDEPLOY_REQUIRE_REAL_CLUSTER") == "1":
        pytest.fail(f"gitlab-ci-local tier required (KDEPLOY_REQUIRE_REAL_CLUSTER=1): {reason}")
    pytest.skip(f"gitlab-ci-local tier skipped: {reason}")


@pytest.fixture(scope="module")
def tools(cluster_target: str) -> Path:
    """The directory holding gitlab-ci-local and rsync (both installed by `make tools`)."""
    if cluster_target == "real":
        pytest.skip("runs against its own `kdeploy emulator`; the emulator tier covers it")
    if not shutil.which("node") or not shutil.which("npm"):
        _missing("no node/npm on PATH")
    if not (TOOLS_BIN / "gitlab-ci-local").exists():
        _missing(f"{TOOLS_BIN / 'gitlab-ci-local'} not installed (run `make tools`)")
    if not shutil.which("rsync") and not (TOOLS_BIN / "rsync").exists():
        _missing("no rsync on PATH or in .tools/bin (run `make tools`)")
    return TOOLS_BIN


@pytest.fixture(autouse=True)
def _file_variable_leftovers() -> Iterator[None]:
    """gitlab-ci-local 4.65.1 writes File variables to /tmp/gitlab-ci-local-file-variables-*/ and
    leaves one such directory per job behind (named `...-undefined-<job id>`, not the one the
    job uses, which it deletes): remove the ones holding this module's File variables."""
    yield
    for leftover in Path("/tmp").glob("gitlab-ci-local-file-variables-*"):
        try:
            ours = (leftover / "SESSION_SECRET_FILE").read_text() == SESSION_SECRET
        except OSError:
            continue
        if ours:
            shutil.rmtree(leftover, ignore_errors=True)


@pytest.fixture
def kdeploy_emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """`kdeploy emulator` in its own process; yields its kubeconfig. Pods become ready after 1 s,
    or the seconds given by indirect parametrization."""
    kubeconfig = tmp_path / "emulator.kubeconfig"
    delay = str(getattr(request, "param", 1))
    command = [sys.executable, "-m", "kdeploy.cli", "emulator", "--ready-delay", delay]
    proc = subprocess.Popen(
        [*command, "--kubeconfig-out", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(kubeconfig), "the emulator did not start"
        yield kubeconfig
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Run:
    code: int
    output: str


@dataclass
class Started:
    """A running gitlab-ci-local."""

    project: Project
    proc: subprocess.Popen[bytes]
    out: Path

    def wait(self) -> Run:
        code = self.proc.wait(timeout=300)
        output = self.out.read_text(errors="replace")
        assert_no_secrets(self.project.path, output)
        return Run(code, output)


class Project:
    """A git clone of the example project on branch main, run by gitlab-ci-local."""

    def __init__(self, path: Path, tools: Path, kubeconfig: Path) -> None:
        self.path = path
        self.tools = tools
        self.kubeconfig = kubeconfig
        self.runs = 0

    def env(self) -> dict[str, str]:
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KDEPLOY_", "CI_", "GITLAB_", "PIP_"))
        }
        path = os.pathsep.join([str(self.tools), str(Path(sys.executable).parent), keep["PATH"]])
        return {
            **keep,
            "PATH": path,
            # gitlab-ci-local reads ~/.gitlab-ci-local/variables.yml: not the developer's
            "HOME": str(self.path.parent / "home"),
            # the documented before_script (`pip install -q kdeploy`) finds the kdeploy under
            # test installed and never reaches an index
            "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "NO_COLOR": "1",
        }

    def start(self, *args: str) -> Started:
        """Start `gitlab-ci-local --force-shell-executor ARGS` in the project. Its output goes to
        a file: Node cuts piped output short when gitlab-ci-local exits."""
        self.runs += 1
        out = self.path.parent / f"gitlab-ci-local-{self.runs}.out"
        with out.open("w") as sink:
            proc = subprocess.Popen(
                ["gitlab-ci-local", "--force-shell-executor", *args],
                cwd=self.path,
                env=self.env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        return Started(self, proc, out)

    def gitlab_ci_local(self, *args: str) -> Run:
        """Run `gitlab-ci-local --force-shell-executor ARGS` in the project to its end, then check
        that no secret reached its output, job logs or artifacts."""
        return self.start(*args).wait()

    def log(self, job: str) -> str:
        return (self.path / ".gitlab-ci-local" / "output" / f"{job}.log").read_text()

    def artifact(self, job: str, name: str) -> Path:
        return self.path / ".gitlab-ci-local" / "artifacts" / job / name

    def commit(self, message: str) -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        sha = git(self.path, "rev-parse", "HEAD")
        git(self.path, "update-ref", "refs/remotes/origin/main", sha)  # pushed
        return sha

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.path / rel
        text = path.read_text()
        assert old in text, f"{rel} has no {old!r}"
        path.write_text(text.replace(old, new, 1))

    def kdeploy(self, *args: str) -> Any:
        """`kdeploy ARGS -o json` on the emulator, parsed."""
        env = {**self.env(), "KDEPLOY_KUBECONFIG": str(self.kubeconfig)}
        env["KDEPLOY_CONTEXT"] = "kdeploy-emulator"
        done = subprocess.run(
            [sys.executable, "-m", "kdeploy.cli", "-C", str(self.path), *args, "-o", "json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    def commits(self, env: str) -> dict[str, str]:
        """{release: the commit its newest revision was deployed from} in environment `env`."""
        listed = self.kdeploy("releases", "-e", env)["releases"]
        return {r["release"]: r["gitCommit"] for r in listed}


def _variables(kubeconfig: Path) -> dict[str, Any]:
    """.gitlab-ci-local-variables.yml: what Settings > CI/CD > Variables holds."""
    return {
        "KDEPLOY_KUBECONFIG": {"type": "file", "values": {"*": kubeconfig.read_text()}},
        "KDEPLOY_CONTEXT": "kdeploy-emulator",
        "DATABASE_URL": {"type": "variable", "values": DB_URL},  # scoped per environment
        "SESSION_SECRET_FILE": {"type": "file", "values": {"*": SESSION_SECRET}},
        "KDEPLOY_GITLAB_TOKEN": TOKEN,
        # GitLab sets "true"; gitlab-ci-local sets "false" (it is not GitLab) unless told
        "GITLAB_CI": "true",
    }


def make_project(root: Path, tools: Path, kubeconfig: Path) -> tuple[Project, str]:
    """The example project with the documented pipeline, committed on main (with an `origin`
    that names the GitLab project); returns it and the first commit."""
    path = root / "shop-deploy"
    for part in ("packages", "environments"):
        shutil.copytree(ROOT / part, path / part)
    pipeline = documented_pipeline()
    (path / ".gitlab-ci.yml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    # job artifacts and gitlab-ci-local's own files are never committed
    (path / ".gitignore").write_text(
        "*.xml\n*.json\n*.env\nmanifests/\n.gitlab-ci-local/\n.gitlab-ci-local-variables.yml\n"
    )
    (path / ".gitlab-ci-local-variables.yml").write_text(yaml.safe_dump(_variables(kubeconfig)))
    prod = path / "environments" / "prod.yaml"
    prod.write_text(
        prod.read_text().replace("    package: webapp\n", f"    package: webapp\n{PROD_SECRETS}", 1)
    )
    (root / "home").mkdir(exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Maintainer")
    git(path, "config", "user.email", "maintainer@example.com")
    git(path, "remote", "add", "origin", "https://gitlab.example.com/shop/deploy.git")
    project = Project(path, tools, kubeconfig)
    first = project.commit("first release")
    git(path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return project, first


def secret_forms(value: str) -> set[str]:
    """`value` as a log or artifact could hold it: plain, URL-encoded, base64."""
    raw = value.encode()
    return {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }


def assert_no_secrets(project: Path, output: str) -> None:
    """No secret in any form in gitlab-ci-local's output or in any file of .gitlab-ci-local/ (job
    logs, artifacts, dotenv reports, its expanded pipeline and state)."""
    files = [p for p in (project / ".gitlab-ci-local").rglob("*") if p.is_file()]
    assert any(p.parent.name == "output" for p in files), "gitlab-ci-local wrote no job log"
    texts = {"gitlab-ci-local output": output}
    texts.update({str(p): p.read_text(errors="replace") for p in files})
    for secret in SECRETS:
        for form in secret_forms(secret):
            found = [name for name, text in texts.items() if form in text]
            assert not found, f"a secret ({form[:6]}...) is in {found}"


@pytest.fixture
def gitlab() -> Iterator[tuple[GitLabStub, str]]:
    """A stub of GitLab's REST API for merge-request notes, and its CI_API_V4_URL."""
    stub = GitLabStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    server.shutdown()
    server.server_close()


def test_pipelines_deploy_diff_fail_atomically_and_roll_back(
    tmp_path: Path, tools: Path, kdeploy_emulator: Path, gitlab: tuple[GitLabStub, str]
) -> None:
    project, first = make_project(tmp_path, tools, kdeploy_emulator)

    # 1. the first pipeline on main: lint, deploy-staging, then the manual deploy-prod
    run = project.gitlab_ci_local("--manual", "deploy-prod")
    assert run.code == 0, run.output
    for job in ("lint", "deploy-staging", "deploy-prod"):
        assert f"PASS  {job}" in run.output, run.output
    assert set(project.commits("staging").values()) == {first}
    assert set(project.commits("prod").values()) == {first}
    report = json.loads(project.artifact("deploy-staging", "deploy-staging.json").read_text())
    assert report["status"] == "succeeded"
    dotenv = project.artifact("deploy-staging", ".gitlab-ci-reports/dotenv/deploy.env")
    assert "KDEPLOY_ENVIRONMENT_URL=https://staging.shop.example.com" in dotenv.read_text()
    assert project.artifact("deploy-staging", "manifests/web.yaml").is_file()
    # the secrets did arrive, each environment's own (so the log checks below are not vacuous)
    for env, namespace in (("staging", "shop-staging"), ("prod", "shop")):
        secret = LiveCluster(str(kdeploy_emulator), namespace).object("Secret", "web-secret")
        assert secret is not None
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data == {"DATABASE_URL": DB_URL[env], "SESSION_SECRET": SESSION_SECRET}

    # 2. a merge request with a second commit: its pipeline runs lint and the diff job only
    stub, api_url = gitlab
    project.edit("environments/staging.yaml", "LOG_LEVEL: debug", "LOG_LEVEL: warn")
    second = project.commit("staging logs less")
    run = project.gitlab_ci_local(
        *("--variable", "CI_PIPELINE_SOURCE=merge_request_event"),
        *("--variable", "CI_MERGE_REQUEST_IID=12"),
        *("--variable", f"CI_API_V4_URL={api_url}"),
        *("--variable", "CI_PROJECT_ID=group/shop"),
        *("--unset-variable", "CI_COMMIT_BRANCH"),  # GitLab sets none in MR pipelines
    )
    assert run.code == 0, run.output
    assert "PASS  diff-staging" in run.output and "deploy-staging" not in run.output
    diff_log = project.log("diff-staging")
    assert "LOG_LEVEL: warn" in diff_log and "diff note for staging created" in diff_log
    (note,) = [n for n in stub.notes if n["author"]["id"] != 99]
    assert "LOG_LEVEL: warn" in note["body"]
    assert json.loads(project.artifact("diff-staging", "diff-staging.json").read_text())["changes"]
    assert set(project.commits("staging").values()) == {first}  # a diff deploys nothing

    # merged: main's pipeline deploys it to staging and, manually, to prod
    run = project.gitlab_ci_local("--manual", "deploy-prod")
    assert run.code == 0, run.output
    # web's image tag is the commit; the other releases did not change and keep their revision
    assert project.commits("staging")["web"] == project.commits("prod")["web"] == second

    # 3. a commit whose web image never becomes ready: deploy-staging fails within its short
    # timeout (a CI variable) and --atomic rolls web back; prod's manual job never runs
    project.edit(
        "environments/staging.yaml",
        'tag: "2.8.0-rc.1"',
        'repository: ghcr.io/example/never-ready\n        tag: "2.8.0-rc.1"',
    )
    project.commit("broken image")
    run = project.gitlab_ci_local("--manual", "deploy-prod", "--variable", "KDEPLOY_TIMEOUT=5s")
    assert run.code != 0, run.output
    assert "FAIL  deploy-staging" in run.output, run.output
    assert "PASS  deploy-prod" not in run.output
    staging_log = project.log("deploy-staging")
    assert "--atomic: rolled back to revision" in staging_log, staging_log
    live = LiveCluster(str(kdeploy_emulator), "shop-staging")
    assert "never-ready" not in live.image()
    newest = project.kdeploy("history", "web", "-e", "staging")["revisions"][-1]
    assert newest["status"] == "deployed" and newest["description"].startswith("rollback to")
    report = json.loads(project.artifact("deploy-staging", "deploy-staging.json").read_text())
    assert report["status"] == "failed"
    dotenv = project.artifact("deploy-staging", ".gitlab-ci-reports/dotenv/deploy.env")
    assert "KDEPLOY_STATUS=failed" in dotenv.read_text()
    assert project.commits("prod")["web"] == second

    # 4. the manual rollback job in the first commit's pipeline returns prod to that commit
    git(project.path, "checkout", "-q", first)
    run = project.gitlab_ci_local(
        "rollback-prod",
        "--variable",
        "CI_COMMIT_BRANCH=main",
        "--variable",
        "CI_COMMIT_REF_NAME=main",
    )
    assert run.code == 0, run.output
    assert "PASS  rollback-prod" in run.output, run.output
    assert set(project.commits("prod").values()) == {first}
    newest = project.kdeploy("history", "web", "-e", "prod")["revisions"][-1]
    assert newest["description"].startswith("rollback to")
    assert newest["ci"]["jobUrl"].startswith("https://gitlab.example.com/shop/deploy/-/jobs/")
    assert newest["ci"]["ciEnvironment"] == "prod"


# pods ready after 5 s: the first job holds the lock while the second one starts
@pytest.mark.parametrize("kdeploy_emulator", [5], indirect=True)
def test_two_pipelines_deploying_one_environment_take_turns(
    tmp_path: Path, tools: Path, kdeploy_emulator: Path
) -> None:
    one, first = make_project(tmp_path / "one", tools, kdeploy_emulator)
    run = one.gitlab_ci_local("deploy-staging")  # staging exists (and its namespace, see below)
    assert run.code == 0, run.output
    one.edit("environments/staging.yaml", "LOG_LEVEL: debug", "LOG_LEVEL: warn")
    second = one.commit("staging logs less")
    # the same commit's pipeline twice (a retried pipeline, or main's and a tag's)
    two_path = tmp_path / "two" / "shop-deploy"
    shutil.copytree(one.path, two_path, ignore=shutil.ignore_patterns(".gitlab-ci-local"))
    (tmp_path / "two" / "home").mkdir()
    two = Project(two_path, tools, kdeploy_emulator)

    # the second pipeline starts once the first one's job holds the environment lock
    first_job = one.start("deploy-staging")
    lease = LiveCluster(str(kdeploy_emulator), "shop-staging")
    deadline = time.monotonic() + 120
    while not lease.object("Lease", "kdeploy-env-lock.staging", "coordination.k8s.io/v1"):
        assert first_job.proc.poll() is None, first_job.wait().output
        assert time.monotonic() < deadline, "the first job never took the environment lock"
        time.sleep(0.1)
    started = [first_job, two.start("deploy-staging")]
    for run in [s.wait() for s in started]:
        assert run.code == 0, run.output
        assert "PASS  deploy-staging" in run.output, run.output
    # the environment lock (its Lease lives in the first release's namespace, which the first
    # deploy created) makes the later job wait before its first release, then find it done
    locked = "environment staging in namespace shop-staging is locked by maintainer "
    assert locked not in one.log("deploy-staging")
    waited = two.log("deploy-staging")
    assert locked + "https://gitlab.example.com/shop/deploy/-/jobs/" in waited, waited
    assert "waiting up to 15m (--wait-for-lock)" in waited
    assert "Release web: no changes, nothing recorded." in waited

    for release in ("namespace-setup", "web", "worker", "cache"):
        revisions = one.kdeploy("history", release, "-e", "staging")["revisions"]
        assert [r["revision"] for r in revisions] == list(range(1, len(revisions) + 1))
        statuses = [r["status"] for r in revisions]
        assert statuses[-1] == "deployed" and set(statuses[:-1]) <= {"superseded"}, revisions
    web = one.kdeploy("history", "web", "-e", "staging")["revisions"]
    assert [r["gitCommit"] for r in web] == [first, second]
