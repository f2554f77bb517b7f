"""The pytest plugin with OpenAPI documents: --mockserver-stubs naming one, and
--mockserver-openapi failing a strict test whose request breaks the document."""

from __future__ import annotations

import pytest

from tests.openapi_docs import PETSTORE

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

PETS_STUBS = """
service: petstore
stubs:
  - id: list-pets
    request: {method: GET, path: /pets}
    response: {json: [{id: 1, name: Rex}]}
"""


def test_stubs_option_serves_an_openapi_document(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "api/petstore.yaml": PETSTORE,
            "test_pets.py": """
            import os

            import requests


            def test_served(mockserver):
                rex = requests.get(os.environ["PETSTORE_URL"] + "/pets/7", timeout=5)
                assert rex.json() == {"id": 7, "name": "Rex", "tag": "dog"}


            def test_broken(mockserver):
                bad = requests.get(os.environ["PETSTORE_URL"] + "/pets/rex", timeout=5)
                assert bad.status_code == 400
            """,
        },
        stubs={},
    )
    result = pytester.runpytest_inprocess("--mockserver-stubs", "api/petstore.yaml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*request does not match the OpenAPI document*path id: 'rex' is not of type 'integer'*"]
    )


def test_openapi_option_fails_a_strict_test_on_a_violation(
    project: Project, pytester: pytest.Pytester
) -> None:
    project(
        {
            "petstore.yaml": PETSTORE,
            "test_pets.py": """
            import os

            import requests


            def test_good(mockserver):
                ok = requests.get(os.environ["PETSTORE_URL"] + "/pets?limit=3", timeout=5)
                assert ok.json() == [{"id": 1, "name": "Rex"}]


            def test_bad(mockserver):
                requests.get(os.environ["PETSTORE_URL"] + "/pets?limit=three", timeout=5)
            """,
        },
        stubs={"stubs/pets.yaml": PETS_STUBS},
    )
    result = pytester.runpytest_inprocess("--mockserver-openapi", "petstore.yaml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*query limit: 'three' is not of type 'integer'*"])
