"""What a strict failure prints (issue 14 item 10): capped, escaped, grouped, one rendering."""

from __future__ import annotations

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

STUBS = {
    "stubs/users.yaml": """
    service: users
    stubs:
      - id: create-user
        request:
          method: POST
          path: /api/user
          body: {json_subset: {role: member}}
        response: {status: 201}
    """
}


def test_item_10_a_huge_body_is_capped_with_its_size(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_big.py": """
            import os

            import requests


            def test_big(mockserver):
                payload = {"role": "admin", "blob": "x" * 2_000_000}
                requests.post(os.environ["USERS_URL"] + "/api/user", json=payload, timeout=30)
            """
        },
        stubs=STUBS,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert len(out) < 40_000, len(out)
    result.stdout.fnmatch_lines(["*characters in all, sha256*"])


def test_item_10_control_characters_are_escaped_and_text_rendered_once(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_controls.py": """
            import json
            import os

            import requests


            def test_controls(mockserver):
                # JSON as requests sends it: ASCII, \\u-escaped
                body = json.dumps({"role": "\\x1b[31mred\\x07\\x00été", "note": "a\\rb"})
                requests.post(
                    os.environ["USERS_URL"] + "/api/user\\x1b[2J",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=5,
                )
            """
        },
        stubs=STUBS,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    failure = out.split("_ test_controls _")[1].split("Captured")[0]
    for raw in ("\x1b", "\x07", "\r", "\x00"):
        assert raw not in failure
    result.stdout.fnmatch_lines(["No stub matched POST /api/user\\x1b[[]2J"])
    assert "\\u00e9" not in failure  # é, as the text shows it, not JSON's escape
    assert "été" in failure
    # One rendering, the body's and the near miss's alike: JSON with its characters, control
    # characters escaped as JSON escapes them.
    shown = '{"role": "\\u001b[[]31mred\\u0007\\u0000été", "note": "a\\rb"}'
    result.stdout.fnmatch_lines([f"  body: {shown}", f"         actual:   {shown}"])


def test_item_10_identical_unmatched_requests_are_grouped_with_a_count(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "test_retries.py": """
            import os

            import requests


            def test_retries(mockserver):
                with requests.Session() as session:
                    for _ in range(100):
                        session.post(
                            os.environ["USERS_URL"] + "/api/user", json={"role": "x"}, timeout=5
                        )
                    session.get(os.environ["USERS_URL"] + "/other", timeout=5)
            """
        },
        stubs=STUBS,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "mockserver: 101 requests matched no stub:",
            "No stub matched POST /api/user (100 times)",
            "*",
            "No stub matched GET /other",
        ]
    )
    # Once in all: the server's log of each (captured) does not repeat the report either.
    out = result.stdout.str()
    assert out.count("No stub matched POST /api/user") == 1
    assert len(out.splitlines()) < 40
