"""The viewer-request CloudFront Function, run under Node against CloudFront event fixtures (the
``cloudfront-js-2.0`` event shape), built exactly as the stack deploys it (``contract.function_code``)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from runtime.static_site import contract

HERE = Path(__file__).parent
EVENTS = {path.stem: json.loads(path.read_text()) for path in sorted((HERE / "events").glob("*.json"))}
SITE = contract.PROJECT_DIR / contract.DEFAULT_SITE_DIR
LINK = re.compile(r'(?:href|src)="(/[^"#?]*)')


def run(code: str, events: list[dict]) -> list[dict]:
    return run_many([(code, events)])[0]


def run_many(runs: list[tuple[str, list[dict]]]) -> list[list[dict]]:
    node = shutil.which("node")
    assert node, "node is not installed (Debian package nodejs; .ci/setup installs it)"
    answer = subprocess.run([node, str(HERE / "run_function.js")], capture_output=True, text=True, timeout=60,
                            input=json.dumps([{"code": code, "events": events} for code, events in runs]))
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, dict]]:
    """Every fixture through the function of an apex site (example.com), of a subdomain site and of dev."""
    builds = {"apex": contract.function_code("example.com"), "subdomain": contract.function_code(None)}
    names = list(EVENTS)
    answers = run_many([(code, [EVENTS[n] for n in names]) for code in builds.values()])
    return {site: dict(zip(names, answer)) for site, answer in zip(builds, answers)}


@pytest.mark.parametrize(("fixture", "uri"), [
    ("root", "/index.html"), ("about-us", "/about-us.html"), ("blog-directory", "/blog/index.html"),
    ("asset", "/a.css"), ("query", "/x.html"), ("dotted-directory", "/v1.2/notes.html"),
])
def test_pretty_urls_are_rewritten_to_their_objects(results, fixture, uri):
    request = results["apex"][fixture]
    assert "statusCode" not in request  # passed on to the cache, not answered
    assert request["uri"] == uri
    assert request["headers"] == EVENTS[fixture]["request"]["headers"]


def test_the_query_string_is_passed_on_untouched(results):
    assert results["apex"]["query"]["querystring"] == {"y": {"value": "1"}}


def test_www_answers_301_to_the_apex_with_path_and_every_query_value(results):
    response = results["apex"]["www"]
    assert response["statusCode"] == 301
    assert response["headers"]["location"]["value"] == "https://example.com/blog/first-post?y=1&tag=a&tag=b%20c&flag"
    assert results["apex"]["www-root"]["headers"]["location"]["value"] == "https://example.com/"


def test_the_apex_itself_passes(results):
    assert results["apex"]["about-us"]["uri"] == "/about-us.html"
    assert results["apex"]["about-us"]["headers"]["host"]["value"] == "example.com"


def test_a_subdomain_site_redirects_nothing(results):
    for fixture in ("subdomain", "subdomain-www", "www"):
        request = results["subdomain"][fixture]
        assert "statusCode" not in request and request["uri"].endswith(".html"), fixture


def test_the_committed_file_is_the_one_deployed_with_only_its_site_line_set():
    source = (contract.PROJECT_DIR / contract.FUNCTION_FILE).read_text()
    deployed = contract.function_code("example.com")
    changed = [(a, b) for a, b in zip(source.splitlines(), deployed.splitlines()) if a != b]
    assert changed == [('var SITE = { "apex": "", "index": "index.html" };',
                        'var SITE = {"apex": "example.com", "index": "index.html"};')]


def test_every_link_of_the_sample_site_reaches_an_object_through_the_function():
    pages = sorted(SITE.rglob("*.html"))
    links = sorted({link for page in pages for link in LINK.findall(page.read_text())})
    assert {"/", "/about-us", "/blog/"} <= set(links)
    event = EVENTS["about-us"]
    requests = run(contract.function_code("example.com"),
                   [{**event, "request": {**event["request"], "uri": link}} for link in links])
    missing = [(link, r["uri"]) for link, r in zip(links, requests) if not (SITE / r["uri"].lstrip("/")).is_file()]
    assert missing == []


def test_the_sample_stylesheet_is_named_by_its_content_hash():
    [stylesheet] = (SITE / "assets").glob("site.*.css")
    assert stylesheet.name == f"site.{hashlib.sha256(stylesheet.read_bytes()).hexdigest()[:10]}.css"
