"""serve --workers 2 as a subprocess: both workers serve, one admin API and journal over them.

Requests are sent on fresh connections (no session), so the kernel spreads them over the
workers by each connection's source port; 30 of them all landing on one worker has odds of
one in half a billion, and the tests check from the journal that both workers answered.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..console import MOCKSERVER, Console, clean_env
from .admin_helpers import assert_error, wait_until, write_stubs

BIN = Path(sys.executable).parent
DEADLINE = 30.0
FRESH = 30  # requests on fresh connections, when every worker must see something


def app(body: str, port: int | None = None, service: str = "app") -> str:
    return f"""
        service: {service}
        {f"port: {port}" if port else ""}
        stubs:
          - id: {"hello" if service == "app" else service}
            request: {{method: GET, path: /hello}}
            response: {{json: {{says: {body}}}}}
    """


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def fresh(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request on a connection of its own."""
    kwargs.setdefault("timeout", 10)
    headers = {"Connection": "close", **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, **kwargs)


class Served(Console):
    """A ``mockserver serve --workers`` process, its output read line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__([MOCKSERVER, "serve", *args], env=clean_env(**env))
        self.worker_pids: list[int] = []

    def wait_for(self, wanted: Callable[[str], bool]) -> str:
        return self.next_line(wanted)

    def started(self, token: str | None = None) -> str:
        """The main URL, once the banner said every worker serves."""
        line = self.wait_for(lambda line: line.startswith("  admin: "))
        self.wait_for(lambda line: "worker processes (pids" in line)
        url = line.split()[1].removesuffix("/__admin/health")
        self.worker_pids = [w["pid"] for w in self.health(url, token)["workers"]]
        return url

    @staticmethod
    def health(url: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = fresh("GET", url + "/__admin/health", headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=DEADLINE)

    def close(self) -> None:
        for pid in self.worker_pids:  # a failed test leaves no worker behind either
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        super().close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str | Path, **env: str) -> Served:
        started.append(Served([str(a) for a in args], env))
        return started[-1]

    yield start
    for served in started:
        served.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"app.yaml": app("v1")})


def bodies(url: str, n: int = FRESH) -> list[Any]:
    """What ``n`` fresh connections get from ``url``: each JSON body, or the status."""
    answers = [fresh("GET", url) for _ in range(n)]
    return [a.json() if a.status_code == 200 else a.status_code for a in answers]


def post(url: str, stub: Any, status: int = 201) -> Any:
    answer = fresh("POST", url + "/__admin/stubs", json=stub)
    assert answer.status_code == status, answer.text
    return answer.json()


def test_port_0_both_workers_answer_and_one_journal_shows_them(
    serve: Callable[..., Served], root: Path
) -> None:
    served = serve(root, "--port", "0", MOCKSERVER_WORKERS="2")
    url = served.started()
    assert not url.endswith(":0")
    assert len(set(served.worker_pids)) == 2
    assert served.process.pid not in served.worker_pids
    assert bodies(url + "/hello") == [{"says": "v1"}] * FRESH
    journal = fresh("GET", url + "/__admin/requests").json()
    assert journal["total"] == len(journal["requests"]) == FRESH
    assert journal["journal_size"] == 2 * 1000  # each worker keeps its own 1,000
    assert {entry["worker"] for entry in journal["requests"]} == {0, 1}
    times = [entry["at"] for entry in journal["requests"]]
    assert times == sorted(times)  # merged by time, oldest first
    page = fresh("GET", url + "/__admin/requests?offset=5&limit=10").json()
    assert page["requests"] == journal["requests"][5:15]
    assert page["total"] == FRESH
    health = served.health(url)
    assert health["journal"] == {"size": FRESH, "max": 2000}
    served_by = [w["served"] for w in health["workers"]]
    assert sum(served_by) == FRESH
    assert min(served_by) > 0
    stubs = fresh("GET", url + "/__admin/stubs").json()["stubs"]
    assert [(s["id"], s["hits"]) for s in stubs] == [("hello", FRESH)]
    assert fresh("GET", url + "/__admin/stubs/hello").json()["hits"] == FRESH
    count = fresh("POST", url + "/__admin/requests/count", json={"path": "/hello"})
    assert count.json() == {"count": FRESH}
    assert fresh("GET", url + "/nothing").status_code == 404
    unmatched = fresh("GET", url + "/__admin/requests/unmatched").json()["requests"]
    assert [entry["path"] for entry in unmatched] == ["/nothing"]
    assert fresh("GET", url + "/__admin/requests?limit=x").status_code == 400
    assert fresh("DELETE", url + "/__admin/requests").status_code == 200
    assert fresh("GET", url + "/__admin/requests").json()["total"] == 0


def test_a_stub_posted_once_is_served_by_every_worker(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    added = post(url, {"request": {"path": "/new"}, "response": {"json": {"fresh": True}}})
    stub_id = added["stubs"][0]["id"]
    assert bodies(url + "/new") == [{"fresh": True}] * FRESH
    # Hits of a runtime stub are summed over the workers, like those of file stubs.
    assert fresh("GET", url + f"/__admin/stubs/{stub_id}").json()["hits"] == FRESH
    journal = fresh("GET", url + "/__admin/requests").json()["requests"]
    assert {entry["worker"] for entry in journal} == {0, 1}
    # The same derived id on every worker: deleting it there leaves nothing behind anywhere.
    assert fresh("DELETE", url + f"/__admin/stubs/{stub_id}").status_code == 200
    assert bodies(url + "/new") == [404] * FRESH
    replaced = fresh("PUT", url + "/__admin/stubs/hello", json={"response": {"json": 2}})
    assert replaced.status_code == 200, replaced.text
    assert bodies(url + "/hello") == [2] * FRESH
    # A failure is answered once, as every worker refused it.
    assert_error(fresh("POST", url + "/__admin/stubs", data=b"{"), 415)
    taken = fresh("POST", url + "/__admin/stubs", json={"id": "hello", "request": {}})
    assert_error(taken, 409, "duplicate stub id")


def test_reset_and_reload_reach_every_worker(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    post(url, {"request": {"path": "/runtime"}, "response": {"json": "runtime"}})
    assert bodies(url + "/runtime") == ["runtime"] * FRESH
    assert fresh("POST", url + "/__admin/reset").json() == {"status": "reset", "stubs": 1}
    assert bodies(url + "/runtime") == [404] * FRESH
    journal = fresh("GET", url + "/__admin/requests").json()
    assert journal["total"] == FRESH  # the misses since the reset, and nothing before
    write_stubs(root, {"app.yaml": app("v2")})
    reloaded = fresh("POST", url + "/__admin/reload")
    assert reloaded.json() == {"status": "reloaded", "services": 1, "stubs": 1}
    assert bodies(url + "/hello") == [{"says": "v2"}] * FRESH
    (root / "app.yaml").write_text("stubs: [{request: {metod: GET}}]\n", encoding="utf-8")
    assert_error(fresh("POST", url + "/__admin/reload"), 422)
    assert bodies(url + "/hello") == [{"says": "v2"}] * FRESH
    assert Served.health(url)["last_reload"]["ok"] is False


def test_concurrent_writes_are_applied_in_one_order(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    same = {"request": {"path": "/race"}, "response": {"json": "same"}}
    races = [{"request": {"path": "/race"}, "response": {"json": n}} for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        # The same stub twice: a derived id and a suffixed one, on every worker alike.
        ids = [r["stubs"][0]["id"] for r in pool.map(lambda s: post(url, s), [same, same])]
        list(pool.map(lambda s: post(url, s), races))
    assert len(set(ids)) == 2
    assert sorted(ids, key=len)[1] == sorted(ids, key=len)[0] + "-2"
    # The newest runtime stub wins: the same one on every worker, so every answer agrees.
    assert len({str(body) for body in bodies(url + "/race")}) == 1
    for stub_id in ids:  # both ids name the same stubs everywhere: each deletes once
        assert fresh("DELETE", url + f"/__admin/stubs/{stub_id}").status_code == 200
        assert fresh("DELETE", url + f"/__admin/stubs/{stub_id}").status_code == 404


def test_in_json_log_mode_the_start_workers_and_stop_lines_are_json(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    served = serve(root, "--workers", "2", "--port", str(port), MOCKSERVER_LOG_FORMAT="json")
    line = served.wait_for(lambda line: '"event":"workers"' in line)
    pids = json.loads(line)["workers"]
    assert len(set(pids)) == 2
    assert served.stop() == 0
    served.wait_for(lambda line: '"event":"stopped"' in line)
    events = [json.loads(line) for line in served.seen]  # every line parses
    started = next(e for e in events if e.get("event") == "started")
    assert started["services"] == [{"name": "app", "url": f"http://127.0.0.1:{port}", "stubs": 1}]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_worker_and_the_parent_exits_0(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int], sig: signal.Signals
) -> None:
    served = serve(root, "--workers", "2", "--port", str(free_port()))
    url = served.started()
    assert bodies(url + "/hello", 4) == [{"says": "v1"}] * 4
    began = time.monotonic()
    assert served.stop(sig) == 0
    assert time.monotonic() - began < 10
    served.wait_for(lambda line: line == "mockserver: stopped")
    assert not [pid for pid in served.worker_pids if alive(pid)]
    with pytest.raises(requests.ConnectionError):
        fresh("GET", url + "/hello", timeout=2)


def test_a_worker_that_dies_stops_the_server(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    served = serve(root, "--workers", "2", "--port", str(free_port()))
    served.started()
    dead, other = served.worker_pids
    os.kill(dead, signal.SIGKILL)
    assert served.process.wait(timeout=DEADLINE) == 1
    served.wait_for(lambda line: f"(pid {dead}) exited with status -9" in line)
    wait_until(lambda: not alive(other), what="the other worker to stop")


def test_workers_stop_when_the_parent_is_killed(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    served = serve(root, "--workers", "2", "--port", str(free_port()))
    served.started()
    assert served.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_until(lambda: not any(alive(pid) for pid in served.worker_pids), what="orphans to stop")


def test_the_token_is_checked_on_the_public_side(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    served = serve(root, "--workers", "2", "--port", str(free_port()), "--admin-token", "s3")
    url = served.started(token="s3")
    stub = {"request": {"path": "/t"}, "response": {"json": "t"}}
    for _ in range(6):  # on both workers
        assert_error(fresh("POST", url + "/__admin/stubs", json=stub), 401, "unauthorized")
        assert_error(fresh("GET", url + "/__admin/requests"), 401, "unauthorized")
    # Open to a probe, but without the workers' pids (issue 13).
    assert fresh("GET", url + "/__admin/health").json() == {"status": "ok", "message": "serving"}
    auth = {"Authorization": "Bearer s3", "Connection": "close"}
    added = requests.post(url + "/__admin/stubs", json=stub, headers=auth, timeout=10)
    assert added.status_code == 201, added.text
    assert bodies(url + "/t") == ["t"] * FRESH


def test_a_declared_port_is_shared_and_admin_there_adds_to_its_service(
    serve: Callable[..., Served], tmp_path: Path, free_port: Callable[[], int]
) -> None:
    other = free_port()
    stubs = write_stubs(
        tmp_path / "two", {"app.yaml": app("main"), "side.yaml": app("side", other, "side")}
    )
    url = serve(stubs, "--workers", "2", "--port", "0").started()
    side = f"http://127.0.0.1:{other}"
    assert bodies(side + "/hello") == [{"says": "side"}] * FRESH
    added = post(side, {"request": {"path": "/x"}, "response": {"json": "x"}})
    assert added["stubs"][0]["service"] == "side"
    assert bodies(side + "/x") == ["x"] * FRESH
    assert bodies(url + "/x") == [404] * FRESH
    journal = fresh("GET", url + "/__admin/requests").json()["requests"]
    served_x = {(e["service"], e["worker"]) for e in journal if e["path"] == "/x"}
    assert served_x == {(service, w) for service in ("side", "app") for w in (0, 1)}


def test_watch_reloads_every_worker(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port()), "--watch").started()
    write_stubs(root, {"app.yaml": app("v2")})
    wait_until(lambda: bodies(url + "/hello", 10) == [{"says": "v2"}] * 10, what="v2 everywhere")
    assert bodies(url + "/hello") == [{"says": "v2"}] * FRESH


def test_state_kept_per_process_is_refused(
    serve: Callable[..., Served], tmp_path: Path, root: Path, free_port: Callable[[], int]
) -> None:
    carts = write_stubs(tmp_path / "carts", {"carts.yaml": "resources:\n  - path: /carts\n"})
    refused = subprocess.run(
        [MOCKSERVER, "serve", str(carts), "--workers", "2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("mockserver: not starting: with --workers 2 each process")
    assert "stateful resources in" in refused.stderr
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    sequence = {"request": {"path": "/s"}, "responses": [{"json": 1}, {"json": 2}]}
    body = assert_error(fresh("POST", url + "/__admin/stubs", json=sequence), 422)
    assert "--workers 1" in body["detail"]
    assert bodies(url + "/s", 4) == [404] * 4
    write_stubs(root, {"carts.yaml": "resources:\n  - path: /carts\n"})
    body = assert_error(fresh("POST", url + "/__admin/reload"), 422)
    assert "stateful resources in" in body["detail"]
    assert bodies(url + "/carts", 4) == [404] * 4
    assert bodies(url + "/hello", 4) == [{"says": "v1"}] * 4


def test_a_taken_port_is_reported_before_any_worker_starts(root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [MOCKSERVER, "serve", str(root), "--workers", "2", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"mockserver: cannot listen on 127.0.0.1:{port} (the main port): "
        "the address is already in use\n"
    )


def test_what_workers_add_to_the_answers_is_documented(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    bodies(url + "/hello", 4)
    doc = fresh("GET", url + "/__admin/openapi.json").json()
    resource = Resource.from_contents(doc, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:doc", resource)
    schemas = doc["components"]["schemas"]
    for name, answer, added in (
        ("Health", Served.health(url), "workers"),
        ("RequestList", fresh("GET", url + "/__admin/requests").json(), "requests"),
    ):
        assert added in schemas[name]["properties"]
        validator = Draft202012Validator(
            {"$ref": f"urn:doc#/components/schemas/{name}"}, registry=registry
        )
        assert not list(validator.iter_errors(answer)), name
    assert "worker" in schemas["JournalEntry"]["properties"]


def test_a_batch_put_reaches_every_worker_and_namespaces_are_refused(
    serve: Callable[..., Served], root: Path, free_port: Callable[[], int]
) -> None:
    url = serve(root, "--workers", "2", "--port", str(free_port())).started()
    batch = [{"id": "hello", "response": {"json": "put"}}, {"id": "b", "request": {"path": "/b"}}]
    answer = fresh("PUT", url + "/__admin/stubs", json=batch)
    assert answer.status_code == 200, answer.text
    assert bodies(url + "/hello") == ["put"] * FRESH
    for path in ("/__ns/a/__admin/reset", "/__ns/a/hello"):
        assert_error(fresh("POST", url + path), 400, "namespaces unavailable")
