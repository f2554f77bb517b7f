"""Matching cost per request in the pure core, with 1 and with 10,000 stubs.

    python benchmarks/match_micro.py

Stubs are a mix of exact paths and {id} templates; the target stub is the last one in file
order. Prints microseconds per match (median of 5 runs) and the cost of an unmatched request's
near-miss report, for a route not seen before and for one called again.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

from mockserver import RequestView
from mockserver.core.matching import StubIndex
from mockserver.stubfiles.stubfile import parse_service


def build(n: int) -> StubIndex:
    stubs = []
    for i in range(n - 1):
        path = f"/api/item{i}/{{id}}" if i % 2 else f"/api/other/{i}"
        stubs.append({"request": {"method": "GET", "path": path}, "response": {"json": {"i": i}}})
    stubs.append(
        {
            "id": "target",
            "request": {"method": "GET", "path": "/api/user/{id}", "query": {"v": "1"}},
            "response": {"json": {"name": "Simon"}},
        }
    )
    _, parsed, problems = parse_service({"stubs": stubs}, "bench", "bench", lambda p: b"")
    assert not problems, problems[:3]
    return StubIndex(parsed)


def per_call_us(fn: object, repeat: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()  # type: ignore[operator]
        runs.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(runs)


def main() -> None:
    for n in (1, 10_000):
        index = build(n)

        def hit(index: StubIndex = index) -> None:
            found = index.match(RequestView("GET", "/api/user/1", "v=1"))
            assert found is not None
            assert found.stub.id == "target"

        routes = iter(range(10**9))

        def new_route(index: StubIndex = index, routes: Iterator[int] = routes) -> None:
            # A route not seen before: every stub is ranked by method and path.
            index.near_misses(RequestView("GET", f"/api/usr/{next(routes)}", "v=2"), 3)

        def same_route(index: StubIndex = index) -> None:
            # The route again: its shortlist is remembered, only the field pass runs.
            index.near_misses(RequestView("GET", "/api/usr/1", "v=2"), 3)

        hit_us = per_call_us(hit, 20_000 if n == 1 else 5_000)
        new_us = per_call_us(new_route, 200 if n == 1 else 3)
        same_us = per_call_us(same_route, 200)
        print(f"{n:>6} stubs: match {hit_us:7.2f} us/request")
        print(f"{n:>6} stubs: near-miss report, new route {new_us:9.1f} us/request")
        print(f"{n:>6} stubs: near-miss report, same route again {same_us:9.1f} us/request")


if __name__ == "__main__":
    main()
