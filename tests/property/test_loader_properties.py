"""Arbitrary stub documents never crash the loader: they load, or every problem is located.

Three kinds of input: any text (as YAML or JSON), any plain data (what a document parses to),
and near-valid stub files whose keys and values are drawn from the valid ones and from
garbage, which reach deep into the stub parser.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from mockserver.core.errors import Problem, StubFileError
from mockserver.core.stubspec import REQUEST_KEYS, RESPONSE_KEYS
from mockserver.formats.loader import body_file_reader
from mockserver.stubfiles.documents import read_document
from mockserver.stubfiles.stubfile import FILE_KEYS, parse_service

SOURCE = "stubs/svc.yaml"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
plain_data = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=5),
    ),
    max_leaves=30,
)


def no_body_files(relative: str) -> bytes:
    raise ValueError(f"no body files here ({relative!r})")


def check_outcome(result: tuple[Any, list[Any], list[Problem]]) -> None:
    """A service with stubs and no problems, or no service and located problems."""
    service, stubs, problems = result
    if problems:
        assert service is None
        for problem in problems:
            assert problem.file == SOURCE
            assert isinstance(problem.message, str)
            assert problem.message
            str(problem)  # printable
            json.dumps(problem.as_dict())  # and JSON-ready, for the admin API
    else:
        assert service is not None
        for stub in stubs:
            assert stub.prepared.status == stub.response.status


@given(st.text(max_size=300))
def test_any_text_loads_or_is_a_located_stub_file_error(text: str) -> None:
    for is_json in (False, True):
        try:
            data, marks = read_document(text, SOURCE, is_json=is_json)
        except StubFileError as exc:
            problems = exc.problems
        else:
            check_outcome(parse_service(data, SOURCE, "svc", no_body_files, marks))
            continue
        assert problems
        assert all(p.file == SOURCE for p in problems)


@given(plain_data)
def test_any_plain_data_parses_or_lists_its_problems(data: Any) -> None:
    check_outcome(parse_service(data, SOURCE, "svc", no_body_files))


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite(v) for v in value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return True


@given(plain_data)
def test_yaml_and_json_read_back_what_was_written(data: Any) -> None:
    assume(finite(data))
    assert read_document(yaml.safe_dump(data), SOURCE)[0] == data
    if not isinstance(data, dict) or all(isinstance(k, str) for k in data):
        text = json.dumps(data)
        assume("{" not in text or all(isinstance(k, str) for k in _keys(data)))
        assert read_document(text, SOURCE, is_json=True)[0] == data


def _keys(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def near(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A valid key, or one with a typo, or a stranger."""
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid).map(lambda k: k[:-1]),
        st.text(min_size=1, max_size=8),
    )


values = st.one_of(
    plain_data,
    st.sampled_from(
        ["GET", ["GET", "POST"], "/a/{id}", "/a/b", "^/x$", "(", 200, 999, "abc", -1, True, "auto"]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "equals",
                "contains",
                "regex",
                "absent",
                "json",
                "json_subset",
                "json_path",
                "any_of",
                "not",
                "case_insensitive",
                "regx",
            ]
        ),
        plain_data | st.sampled_from(["(a|aa)+$", "[", "$.a", "$[", "x"]),
        max_size=3,
    ),
)
requests_ = st.dictionaries(near(REQUEST_KEYS), values, max_size=5)
responses = st.dictionaries(near(RESPONSE_KEYS), values, max_size=5)
stubs = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=10), st.integers()),
        "priority": values,
        "request": requests_ | values,
        "response": responses | values,
        "responses": st.lists(responses, max_size=3) | values,
        "descripton": values,
    },
)
documents = st.fixed_dictionaries(
    {"stubs": st.lists(stubs, max_size=4) | values},
    optional={key: values for key in FILE_KEYS if key != "stubs"},
)


@given(documents)
def test_near_valid_stub_files_load_or_name_every_problem(document: dict[str, Any]) -> None:
    service, found, problems = parse_service(document, SOURCE, "svc", no_body_files)
    check_outcome((service, found, problems))
    stubs = document["stubs"]
    if not problems and isinstance(stubs, list):
        assert len(found) == len(stubs)  # loaded: every stub of the file, none dropped


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stubs root with a file inside, a secret beside it and a symlink leading out."""
    base = tmp_path_factory.mktemp("tree")
    (base / "root" / "sub").mkdir(parents=True)
    (base / "root" / "inside.txt").write_text("inside")
    (base / "root-secret.txt").write_text("TOP-SECRET-CONTENT")
    (base / "root" / "out").symlink_to(base / "root-secret.txt")
    return base


@given(
    st.lists(
        st.sampled_from(
            [
                "..",
                ".",
                "sub",
                "inside.txt",
                "out",
                "root",
                "root-secret.txt",
                "",
                "/",
                "\x00",
                "%2e%2e",
                "~",
            ]
        ),
        max_size=6,
    ).map("/".join)
    | st.text(max_size=20)
)
def test_a_body_file_is_read_inside_the_root_or_refused(tree: Path, name: str) -> None:
    read = body_file_reader(tree / "root" / "svc.yaml", tree / "root")
    try:
        content = read(name)
    except ValueError as exc:
        content = str(exc).encode()  # refused: the reason, which must not carry the secret
    except OSError:  # a name the file system itself refuses (too long, a directory...)
        return
    assert content == b"inside" or b"body_file" in content
    assert b"TOP-SECRET" not in content
