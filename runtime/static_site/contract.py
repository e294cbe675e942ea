"""What the static site's stack and its runtime pieces (the CloudFront Function and the upload tool) share.

Standard library only: the program builds the function's source and names its outputs through this module;
the upload tool reads those outputs and sets cache headers by the same numbers.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
FUNCTION_FILE = "runtime/static_site/viewer_request.js"
FUNCTION_RUNTIME = "cloudfront-js-2.0"
DEFAULT_SITE_DIR = "sites/example-website"
INDEX_DOCUMENT = "index.html"
NOT_FOUND_PAGE = "404.html"
IMMUTABLE_MAX_AGE_SECONDS = 31_536_000
"""Cache lifetime of hashed assets (a changed file gets a new name); the cache policy's maximum TTL."""

# Stack outputs the upload tool reads (``pulumi stack output --json > outputs.json``).
OUTPUT_BUCKET = "bucket"
OUTPUT_DISTRIBUTION_ID = "distribution_id"
OUTPUT_HTML_MAX_AGE = "html_max_age_seconds"
OUTPUT_SITE_DIR = "site_dir"

_SITE_LINE = re.compile(r"^var SITE = \{.*\};$", re.MULTILINE)


def function_code(apex: str | None) -> str:
    """The function's source as deployed: the committed file with its ``SITE`` line set. ``apex``: the host that
    ``www.<apex>`` redirects to; None: no redirect (a subdomain site, or no domain)."""
    source = (PROJECT_DIR / FUNCTION_FILE).read_text()
    site = json.dumps({"apex": apex or "", "index": INDEX_DOCUMENT})
    code, replaced = _SITE_LINE.subn(lambda _: f"var SITE = {site};", source, count=1)
    if replaced != 1:
        raise ValueError(f"{FUNCTION_FILE}: no 'var SITE = {{...}};' line to configure")
    return code


def site_dir_problem(site_dir: str) -> str | None:
    """Why ``site_dir`` (relative to the project, or absolute) cannot be served; None when it can."""
    path = Path(site_dir) if Path(site_dir).is_absolute() else PROJECT_DIR / site_dir
    if not path.is_dir():
        return f"{site_dir} is not a directory"
    missing = [page for page in (INDEX_DOCUMENT, NOT_FOUND_PAGE) if not (path / page).is_file()]
    return f"{site_dir} has no {' and no '.join(missing)}" if missing else None
