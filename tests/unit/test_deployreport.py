"""The apply report and dotenv file (kdeploy.deployreport), as pure data."""

from __future__ import annotations

from dataclasses import dataclass

from kdeploy.deployreport import DeployReport, dotenv_name, environment_url


@dataclass(frozen=True)
class _Revision:
    number: int
    status: str
    result: str = ""


def _clock() -> float:
    return 10.0


def test_release_names_become_variable_names() -> None:
    assert dotenv_name("web") == "WEB"
    assert dotenv_name("api-v2") == "API_V2"


def test_environment_url_is_the_first_ingress_host_https_when_tls() -> None:
    plain = {"kind": "Ingress", "spec": {"rules": [{"host": "a.example.com"}]}}
    tls = {
        "kind": "Ingress",
        "spec": {"tls": [{"hosts": ["b.example.com"]}], "rules": [{"host": "b.example.com"}]},
    }
    wildcard = {"kind": "Ingress", "spec": {"rules": [{"host": "*.example.com"}]}}
    assert environment_url([{"kind": "ConfigMap"}, plain, tls]) == "http://a.example.com"
    assert environment_url([tls]) == "https://b.example.com"
    assert environment_url([wildcard, {"kind": "Service"}]) is None


def test_outcomes_of_each_release_in_order() -> None:
    report = DeployReport.of("prod", [("ns", "x"), ("web", "shop"), ("api", "shop")], _clock)
    report.begin("ns", "x")
    report.done("ns", "x", None, status="unchanged")
    report.begin("web", "shop")
    report.planned("web", "shop", [("change", "ConfigMap shop/c")], {"change": 1})
    report.done("web", "shop", _Revision(4, "deployed", "1 changed"))
    report.begin("api", "shop")
    report.fail("api", "shop", "timed out", unhealthy=True, revision=(7, "failed"))
    doc = report.to_json(
        exit_code=4,
        error="timed out",
        started_at="t0",
        finished_at="t1",
        seconds=2.0,
        cluster="c",
        git_commit=None,
        environment_url=None,
    )
    assert doc["status"] == "failed"
    assert [(r["release"], r["status"], r["revision"], r["health"]) for r in doc["releases"]] == [
        ("ns", "unchanged", None, None),
        ("web", "deployed", 4, "healthy"),
        ("api", "failed", 7, "unhealthy"),
    ]
    assert doc["releases"][1]["changes"] == [{"action": "change", "object": "ConfigMap shop/c"}]
    env = report.dotenv(exit_code=4, environment_url=None).splitlines()
    assert env == [
        "KDEPLOY_ENVIRONMENT=prod",
        "KDEPLOY_STATUS=failed",
        "KDEPLOY_EXIT_CODE=4",
        "KDEPLOY_REVISION_WEB=4",
        "KDEPLOY_REVISION_API=7",
    ]


def test_a_report_before_the_end_says_running() -> None:
    report = DeployReport.of("dev", [("web", "dev")], _clock, waits=False)
    assert "KDEPLOY_STATUS=running" in report.dotenv(exit_code=None, environment_url=None)
    report.done("web", "dev", _Revision(1, "deployed"))
    assert report.releases[("dev", "web")].health == "not waited for"
