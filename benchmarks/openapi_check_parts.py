"""Where a served OpenAPI document spends its CPU: the check taken apart, under wrk.

    python -m benchmarks.openapi_check_parts [--rounds 4] [--duration 3] [--copies 2] [--get]

openapi_serving.py says how far a served document is from native stubs; this says which part
of the request check costs it. The petstore document is served in variants whose check stops
earlier (``VARIANT`` below, set by patching the running process: a diagnostic, not a mode of
mockserver), beside the same answers written natively; each variant runs ``--copies``
processes (one process's CPU figures differ from another's by several per cent), and wrk
(``-t2 -c50``, ``POST /pets`` with a small JSON body, or with ``--get`` ``GET /pets/7``,
its path parameter checked) drives each in turn, the order reversed
every round. Prints each variant's median CPU microseconds per request (user + system, from
/proc): unlike the rate, a neighbour on the machine moves it little.

Variants: ``native`` (benchmarks/openapi_serving.py's NATIVE), ``full`` (as users run it),
``none`` (no check at all), ``media`` (the check reads the Content-Type only), ``json`` (...
and parses the body).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.http_semantics import cpu_seconds  # noqa: E402
from benchmarks.openapi_serving import NATIVE, POST_LUA, serve  # noqa: E402
from tests.openapi_docs import PETSTORE  # noqa: E402

# Run as ``python -c RUNNER VARIANT serve ...``: the variant's patch, then the command line.
RUNNER = """
import sys
variant = sys.argv.pop(1)
from mockserver.formats.openapi import validate
from mockserver.core import respond

def reads(rule, view, parse):
    rule.media_of(view.content_type)  # (media, validator)
    if parse:
        view.json()
    return []

if variant == "none":
    respond.refusal = lambda *args: None
elif variant in ("media", "json"):
    validate._check_body = lambda rule, view: reads(rule, view, variant != "media")
from mockserver.ownership import main
sys.exit(main())
"""
VARIANTS = ("native", "full", "none", "media", "json")


def cpu_per_request(url: str, pid: int, seconds: int, script: Path | None) -> float:
    before = cpu_seconds(pid)
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", url + ("/pets" if script else "/pets/7")]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in", out)
    assert total is not None, out
    return (cpu_seconds(pid) - before) / max(int(total.group(1)), 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--get", action="store_true", help="GET /pets/7 instead of POST /pets")
    args = parser.parse_args()
    wanted = args.variants.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "petstore.yaml").write_text(PETSTORE)
        (root / "native").mkdir()
        (root / "native" / "petstore.yaml").write_text(NATIVE)
        script = root / "post.lua"
        script.write_text(POST_LUA)
        servers = []
        try:
            for variant in wanted:
                served = root / ("native" if variant == "native" else "petstore.yaml")
                for copy in range(args.copies):
                    log = root / f"{variant}{copy}.log"
                    process, url = serve(
                        served, log, launcher=(sys.executable, "-c", RUNNER, variant)
                    )
                    servers.append((variant, process, url))
            spent: dict[str, list[float]] = {variant: [] for variant in wanted}
            for round_ in range(args.rounds):
                for variant, process, url in servers[:: -1 if round_ % 2 else 1]:
                    spent[variant].append(cpu_per_request(url, process.pid, args.duration, script))
            native = statistics.median(spent["native"]) if "native" in spent else None
            for variant, figures in spent.items():
                middle = statistics.median(figures)
                ratio = f", x{middle / native:.2f} of native" if native else ""
                shown = ", ".join(f"{x:.0f}" for x in figures)
                print(f"{variant:7s} {middle:6.1f} µs a request{ratio}  ({shown})")
        finally:
            for _, process, _ in servers:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
