"""examples/compose: the compose file says what the image needs, its stubs load, and the
example app gets its answers from mockserver doubles (tests/test_deployment.py checks the
replicas' compose file and the Kubernetes manifests).

Without Docker: the app runs here against in-process servers of the same stub folders.
tests/container/test_image.py runs the compose services' containers for real.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from mockserver import MockServer, Settings, load_paths

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "compose"


def compose() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLE / "docker-compose.yml").read_text(encoding="utf-8"))


def mounts(service: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """{container path: (host path, mode)} of a compose service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        host, inside, *mode = volume.split(":")
        found[inside] = ((EXAMPLE / host).resolve(), mode[0] if mode else "rw")
    return found


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compose_app", EXAMPLE / "app" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_doubles_are_the_image_serving_watched_read_only_stubs() -> None:
    services = compose()["services"]
    for name in ("users", "catalog"):
        double = services[name]
        assert (EXAMPLE / double["build"]).resolve() == REPO
        assert (REPO / "Dockerfile").is_file()
        assert double["command"] == ["serve", "--watch"]
        assert double["read_only"] is True
        assert double["cap_drop"] == ["ALL"]
        assert double["security_opt"] == ["no-new-privileges:true"]
        # Empty when unset, which keeps the admin API closed (tests/container runs it).
        assert double["environment"]["MOCKSERVER_ADMIN_TOKEN"] == "${MOCKSERVER_ADMIN_TOKEN:-}"
        host, mode = mounts(double)["/stubs"]
        assert mode == "ro"
        assert sorted(load_paths([str(host)]).services) == [name]


def test_the_releases_double_consumes_from_the_compose_rabbitmq() -> None:
    services = compose()["services"]
    releases, broker = services["releases"], services["rabbitmq"]
    assert releases["read_only"] is True  # the same hardened double as the others
    host, mode = mounts(releases)["/stubs"]
    assert mode == "ro"
    loaded = load_paths([str(host)])
    assert sorted(loaded.services) == ["releases"]
    (spec,) = loaded.services["releases"].amqp
    assert {e.name for e in spec.exchanges} == {"incoming", "events"}
    url = releases["environment"]["MOCKSERVER_AMQP_URL"]
    assert url.startswith("amqp://")
    assert "@rabbitmq:5672/" in url  # the broker's service name
    assert releases["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+", broker["image"]), "a release, pinned"
    assert broker["ports"] == ["127.0.0.1:5672:5672"]
    assert "rabbitmq-diagnostics" in broker["healthcheck"]["test"]


def test_the_app_reaches_each_double_by_its_service_name() -> None:
    services = compose()["services"]
    app = services["app"]
    assert app["environment"]["USERS_URL"] == "http://users:8080"
    assert app["environment"]["CATALOG_URL"] == "http://catalog:8080"
    assert app["depends_on"] == {
        "users": {"condition": "service_healthy"},
        "catalog": {"condition": "service_healthy"},
    }
    assert mounts(app)["/app"] == (EXAMPLE / "app", "ro")


@pytest.fixture
def doubles(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, MockServer]]:
    """A mockserver per compose double, serving the same stub folder, URLs in the env."""
    services = compose()["services"]
    started: dict[str, MockServer] = {}
    try:
        for name in ("users", "catalog"):
            folder = mounts(services[name])["/stubs"][0]
            server = MockServer(Settings(paths=(str(folder),), port=0)).start()
            started[name] = server
            monkeypatch.setenv(f"{name.upper()}_URL", server.url)
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_the_example_app_is_answered_by_the_doubles(doubles: dict[str, MockServer]) -> None:
    app = load_app()
    server = app.ThreadingHTTPServer(("127.0.0.1", 0), app.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with opener.open(base + "/summary/1/ABC-123", timeout=10) as response:
            assert json.load(response) == {
                "customer": "Simon",
                "product": "Espresso cup",
                "price": {"amount": 12.5, "currency": "EUR"},
            }
        with pytest.raises(urllib.error.HTTPError) as failed:
            opener.open(base + "/summary/2/ABC-123", timeout=10)
        assert failed.value.code == 502
        failed.value.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    for name, double in doubles.items():
        paths = [entry.path for entry in double.store.journal.entries()]
        assert paths == (
            ["/api/user/1", "/api/user/2"] if name == "users" else ["/api/products/ABC-123"]
        )
