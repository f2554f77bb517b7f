"""Body files beside the stubs: a file a stub names as its ``body_file`` is a body, whatever
its extension, for ``serve``, ``validate`` and a ``--watch`` reload alike (a real script, real
sockets)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from ..console import MOCKSERVER, Console, clean_env, run_console
from ..waiting import write_until

pytestmark = pytest.mark.timeout(60)

USERS = """\
stubs:
  - request: {path: /big}
    response: {body_file: bodies/big.json}
  - request: {path: /page}
    response: {body_file: bodies/page.yaml}
"""
# Neither body is a stub file: the JSON has keys a stub file does not know (the issue's
# "from: unknown key 'from'"), the YAML is a list.
BIG = '{"from": "the users service", "items": [1, 2, 3],\n "note": "kept byte for byte"}\n'
PAGE = "- id: 1\n  name: Simon\n- id: 2\n  name: Ada\n"
# A valid stub file in its own right, which users.yaml also names as a body.
BOTH = """\
service: other
stubs:
  - request: {path: /other}
    response: {body: from the other file}
"""


@pytest.fixture
def tree(make_stubs: Callable[[dict[str, str]], Path]) -> Path:
    return make_stubs({"users.yaml": USERS, "bodies/big.json": BIG, "bodies/page.yaml": PAGE})


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start ``mockserver serve ARGS --port 0``; returns its main URL (from the banner)."""
    started: list[Console] = []

    def start(*args: str) -> str:
        started.append(Console([MOCKSERVER, "serve", *args, "--port", "0"], env=clean_env()))
        line = started[-1].next_line(lambda text: text.startswith("  admin: "))
        found = re.search(r"(http://\S+)/__admin/health", line)
        assert found is not None, line
        return found.group(1)

    yield start
    for console in started:
        console.close()


def test_json_and_yaml_body_files_in_the_tree_are_served_byte_for_byte(
    tree: Path, serve: Callable[..., str]
) -> None:
    url = serve(str(tree))
    big = requests.get(url + "/big", timeout=10)
    assert (big.status_code, big.content) == (200, BIG.encode())
    assert big.headers["Content-Type"].startswith("application/json")
    page = requests.get(url + "/page", timeout=10)
    assert (page.status_code, page.content) == (200, PAGE.encode())
    services = requests.get(url + "/__admin/services", timeout=10).json()
    assert [s["name"] for s in services["services"]] == ["users"]


def test_validate_accepts_the_tree_and_counts_the_bodies_apart(tree: Path) -> None:
    result = run_console("validate", str(tree))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "ok: 1 file, 1 service, 2 stubs (and 2 body files)\n",
        "",
    )


def test_a_body_file_that_is_also_a_valid_stub_file_is_a_body(
    make_stubs: Callable[[dict[str, str]], Path], serve: Callable[..., str]
) -> None:
    root = make_stubs(
        {
            "users.yaml": "stubs:\n"
            "  - request: {path: /raw}\n    response: {body_file: other.yaml}\n",
            "other.yaml": BOTH,
        }
    )
    url = serve(str(root))
    assert requests.get(url + "/raw", timeout=10).content == BOTH.encode()
    # Its own stubs are not served: it is a body, not a stub file.
    assert requests.get(url + "/other", timeout=10).status_code == 404
    assert run_console("validate", str(root)).stdout == (
        "ok: 1 file, 1 service, 1 stub (and 1 body file)\n"
    )


def test_watch_reloads_with_body_files_present_and_rereads_an_edited_body(
    tree: Path, serve: Callable[..., str]
) -> None:
    url = serve(str(tree), "--watch")
    assert requests.get(url + "/big", timeout=10).content == BIG.encode()
    edited = BIG.replace("byte for byte", "edited")
    write_until(
        tree / "bodies" / "big.json",
        edited,
        lambda: requests.get(url + "/big", timeout=10).content == edited.encode(),
        what="the edited body to be served",
    )
    # An edit to a stub file reloads too, with the bodies still beside it.
    write_until(
        tree / "users.yaml",
        USERS + "  - request: {path: /new}\n    response: {body: new}\n",
        lambda: requests.get(url + "/new", timeout=10).status_code == 200,
        what="the new stub after the reload",
    )
    health = requests.get(url + "/__admin/health", timeout=10).json()
    assert health["last_reload"]["ok"] is True, health
    assert requests.get(url + "/page", timeout=10).content == PAGE.encode()
