"""No Docker engine runs here: check that the stack's files parse and name real paths."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"


def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_services():
    services = compose()["services"]
    assert set(services) == {"db", "odoo", "bridge"}
    assert services["db"]["image"].startswith("postgres:16")
    assert "canteen-bridge" in services["bridge"]["command"]


def test_build_context_and_dockerfile_exist():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if not build:
            continue
        context = (DOCKER / build["context"]).resolve()
        assert context.is_dir(), name
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), name
        for source in copied_sources(dockerfile):
            assert (context / source).exists(), f"{dockerfile.name} copies missing {source}"


def test_bind_mounts_exist():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DOCKER / source).resolve().exists(), f"{name} mounts missing {source}"


def test_dockerfile_builds_on_official_odoo_18():
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM odoo:18\b", text, re.M)
    for package in ("dlib-bin", "face_recognition_models", "xlrd", "openpyxl", "gevent", "psycopg2"):
        assert package in text, package


def copied_sources(dockerfile):
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "COPY" and not any(p.startswith("--from") for p in parts):
            yield from (p for p in parts[1:-1] if not p.startswith("--"))
