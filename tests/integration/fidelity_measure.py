"""docs/fidelity.md's measurement: record a service, replay it, and print the requests whose
answers differ on the wire, for the aiohttp service of fidelity.py and for nginx.

    PYTHONPATH=<the tree to measure> python -m tests.integration.fidelity_measure

(The tree measured needs these test helpers: copy fidelity.py, upstream.py, wirecompare.py,
test_record_fidelity.py and test_record_nginx.py into its tests/integration first.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import requests

from .fidelity import FidelityState, make_fidelity_app
from .test_record_fidelity import COMPARED
from .test_record_nginx import IDENTITY, NginxUnavailable, compared, running_nginx
from .upstream import Upstream, replaying
from .wirecompare import Request, differences, on_the_wire, record


def measure(name: str, url: str, asked: list[Request], out: Path, stop: Callable[[], None]) -> None:
    record(url, out, asked)
    direct = [on_the_wire(url, request) for request in asked]
    stop()
    with replaying(out) as replay:
        replayed = [on_the_wire(replay.url, request) for request in asked]
    found = differences(asked, direct, replayed)
    print(f"{name}: {len(found)} of {len(asked)} requests differ")
    for request, (service, replay_) in found.items():
        shown = {k: (str(service[k])[:60], str(replay_[k])[:60]) for k in service}
        print(f"  {request}: {shown}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with Upstream(FidelityState(), make_fidelity_app) as service:
            measure("aiohttp service", service.url, COMPARED, Path(tmp) / "a", service.stop)
        try:
            with running_nginx(Path(tmp) / "nginx") as url:
                tag = requests.get(url + "/index.html", headers=IDENTITY, timeout=10)
                asked = compared(tag.headers["ETag"])
                measure("nginx", url, asked, Path(tmp) / "b", lambda: None)
        except NginxUnavailable as exc:
            print(f"nginx: not measured: {exc}")


if __name__ == "__main__":
    main()
