"""The image: the RDS CA bundle checked against a pinned digest and installed where the settings look for it;
the runtime's requirements pinned exactly, as the top-level requirements pin them and the tests run them."""
import re
from importlib.metadata import version
from pathlib import Path

from runtime.items_service import contract

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / contract.DOCKERFILE).read_text()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            found[re.sub(r"\[.*\]", "", name).lower()] = pinned
    return found


def test_the_ca_bundle_is_verified_and_installed_at_the_settings_default():
    digest = re.search(r"ARG RDS_CA_BUNDLE_SHA256=([0-9a-f]+)", DOCKERFILE)
    assert digest and len(digest.group(1)) == 64
    assert 'sha256sum --check --strict' in DOCKERFILE
    assert f"/tmp/global-bundle.pem {contract.RDS_CA_BUNDLE}" in DOCKERFILE
    assert DOCKERFILE.index("sha256sum --check") < DOCKERFILE.index("install -D")
    assert 'ENTRYPOINT ["python", "-m", "runtime.items_service"]' in DOCKERFILE and "USER 10001" in DOCKERFILE


def test_runtime_requirements_are_exact_pins_matching_the_top_level_and_the_venv():
    runtime, top = pins(ROOT / "runtime/items_service/requirements.txt"), pins(ROOT / "requirements.txt")
    assert {"flask", "gunicorn", "psycopg", "psycopg-pool", "boto3"} <= set(runtime)
    for name, pinned in runtime.items():
        assert top.get(name) == pinned and version(name) == pinned, name
