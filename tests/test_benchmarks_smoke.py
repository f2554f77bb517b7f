"""The benchmark runs (a few seconds, no thresholds), so it never rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_benchmark_smoke_run_prints_every_scenario() -> None:
    result = _run("benchmarks", "--smoke")
    for row in (
        "raw aiohttp",
        "mockserver, 1 stub",
        "mockserver, 1 stub, JSON log",
        "mockserver, 1 stub, quiet (--log-level warning)",
        "304 (If-None-Match)",
        "gzip 200",
        "start to first 200, mockserver",
        "load + index",
        "peak RSS",
    ):
        assert row in result.stdout, row


def test_the_marker_stubs_benchmark_runs() -> None:
    result = _run("benchmarks.marker_stubs", "--stubs", "20", "--tests", "3")
    assert "20 marker stubs, 2 tests: median fixture setup" in result.stdout


def test_the_dashboard_stream_benchmark_runs() -> None:
    result = _run(
        "benchmarks.dashboard_stream", "--duration", "1", "--rounds", "1", "--records", "2000"
    )
    for row in ("nobody watching", "page open", "the page's stream carried", "in process:"):
        assert row in result.stdout, row
    assert "carried 0.0 MB" not in result.stdout, "the page's stream sent nothing"


def test_the_openapi_serving_benchmark_runs_with_its_control() -> None:
    result = _run("benchmarks.openapi_serving", "--duration", "1", "--rounds", "2", "--control")
    for row in (
        "openapi/native: req/s x",
        "openapi/native within each round: req/s median x",
        "native copy/native within each round",
    ):
        assert row in result.stdout, row


def test_the_openapi_check_parts_benchmark_runs() -> None:
    result = _run(
        "benchmarks.openapi_check_parts",
        *("--rounds", "1", "--duration", "1", "--copies", "1"),
        *("--variants", "native,full,none,media,json"),
    )
    for variant in ("native", "full", "none", "media", "json"):
        assert f"\n{variant} " in f"\n{result.stdout}", variant
    assert "x1.00 of native" in result.stdout


def test_the_wiremock_root_benchmark_runs_with_its_files() -> None:
    result = _run("benchmarks.wiremock_root", "--files", "--duration", "1", "--rounds", "1")
    assert "load 1000 mapping files and __files/: WireMock root" in result.stdout
    assert "WireMock root / native = " in result.stdout


def test_the_openapi_instructions_benchmark_runs() -> None:
    result = _run(
        "benchmarks.openapi_instructions", *("--kind", "get", "--warmup", "20", "--requests", "40")
    )
    assert "GET /pets/7, per request:" in result.stdout
    assert "native         instructions" in result.stdout
    assert "openapi        instructions" in result.stdout
