"""What `template: true` costs: a templated JSON stub beside the same static one, one server.

    python -m benchmarks.templates [--rounds 5] [--duration 4]

Three stubs answer the same JSON: static; templated with the id from the path (the same
request renders the same answer, whose preparation is reused); and templated with a
``uuid4()`` too (every answer differs, so each is prepared anew: ETag, MessagePack form).
wrk (`-t2 -c50`) loads each in turn, round after round, on one `mockserver serve` (request
log on, as users run it); the table gives medians and ratios to the static stub.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.run import free_port, server, wrk

STUBS = """\
stubs:
  - request: {method: GET, path: "/static/{user_id}"}
    response: {json: {id: "1", name: Simon, modified: "2021-06-29T21:32:25.685907"}}
  - request: {method: GET, path: "/templated/{user_id}"}
    response:
      template: true
      json: {id: "{{ request.path_params.user_id }}", name: Simon, modified: "2021-06-29"}
  - request: {method: GET, path: "/fresh/{user_id}"}
    response:
      template: true
      json: {id: "{{ request.path_params.user_id }}", name: Simon, order: "{{ uuid4() }}"}
"""
PATHS = {
    "static": "/static/1",
    "templated, same answer": "/templated/1",
    "templated, uuid4()": "/fresh/1",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "users.yaml").write_text(STUBS)
        port = free_port()
        command = [sys.executable, "-m", "mockserver", "serve", tmp, "--port", str(port)]
        rates: dict[str, list[float]] = {name: [] for name in PATHS}
        with server(command, port, path="/static/1", cwd=tmp):
            for _ in range(options.rounds):
                for name, path in PATHS.items():
                    url = f"http://127.0.0.1:{port}{path}"
                    rates[name].append(wrk(url, options.duration, {}).requests_per_s)
    base = statistics.median(rates["static"])
    print(f"# wrk -t2 -c50 -d{options.duration:g}s, {options.rounds} rounds, medians")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<26} {rate:9,.0f} req/s  x{rate / base:.2f} of static")


if __name__ == "__main__":
    main()
