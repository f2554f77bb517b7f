"""Loading sets of files: body files confined to the root, ids, services and ports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockserver.formats.loader import load_paths, load_tree

from .builders import only_problem, write

# ---------------------------------------------------------------------------------------------
# body_file


@pytest.fixture
def stubs_root(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    write(tmp_path, "outside.txt", "outside")
    write(tmp_path, "files-secret/secret.txt", "secret")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    (root / "data").mkdir()
    (root / "data" / "blob.bin").write_bytes(bytes(range(256)) + b"\r\n\x00")
    return root


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("missing.txt", "'missing.txt' does not exist"),
        ("{tmp}/outside.txt", "must be a relative path inside"),
        ("../outside.txt", "'../outside.txt' is outside the stubs root"),
        ("a\\0b", "contains a NUL byte"),
        ("link.txt", "'link.txt' is outside the stubs root"),
        ("../files-secret/secret.txt", "'../files-secret/secret.txt' is outside the stubs root"),
    ],
)
def test_body_file_outside_or_missing_is_refused(
    stubs_root: Path, given: str, fragment: str
) -> None:
    given = given.replace("{tmp}", str(stubs_root.parent))
    path = write(stubs_root, "svc.yaml", f'stubs:\n  - response: {{body_file: "{given}"}}\n')
    problem = only_problem(stubs_root)
    assert fragment in problem.message
    assert (problem.file, problem.stub, problem.key) == (str(path), "#0", "response.body_file")
    assert (problem.line, problem.column) == (2, 16)


def test_body_file_inside_root_is_read_byte_exact(stubs_root: Path) -> None:
    write(stubs_root, "nested/svc.yaml", "stubs:\n  - response: {body_file: ../data/blob.bin}\n")
    (stub,) = load_paths([stubs_root]).stubs
    assert stub.response.body == bytes(range(256)) + b"\r\n\x00"


# ---------------------------------------------------------------------------------------------
# Ids, services and ports across files


def test_duplicate_id_within_a_file_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.yaml", "stubs:\n  - id: x\n  - id: x\n")
    problem = only_problem(path)
    assert problem.message == "duplicate id (also used by stub #0)"
    assert (problem.file, problem.stub, problem.key, problem.line) == (str(path), "'x'", "id", 3)


def test_duplicate_id_across_files_names_the_first_file(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "stubs:\n  - id: x\n")
    second = write(tmp_path, "b.yaml", "stubs:\n  - id: x\n")
    problem = only_problem(tmp_path)
    assert problem.message == f"duplicate id (also used by stub #0 in {first})"
    assert (problem.file, problem.stub, problem.key) == (str(second), "'x'", "id")


def test_two_services_cannot_share_a_port(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "port: 9000\nstubs: []\n")
    second = write(tmp_path, "b.yaml", "port: 9000\nstubs: []\n")
    problem = only_problem(tmp_path)
    assert problem.message == "port 9000 is already taken by service 'a'"
    assert (problem.file, problem.key) == (str(second), "port")


def test_files_of_one_service_are_merged_in_file_order(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "service: users\nport: 9000\nstubs: [{id: p}]\n")
    second = write(tmp_path, "b.yaml", "service: users\nstubs: [{id: q}]\n")
    loaded = load_paths([tmp_path])
    assert list(loaded.services) == ["users"]
    assert loaded.services["users"].port == 9000
    assert loaded.services["users"].sources == (str(first), str(second))
    assert [(s.id, s.service, s.order) for s in loaded.stubs] == [
        ("p", "users", 0),
        ("q", "users", 1),
    ]


def test_files_of_one_service_with_different_ports_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "service: users\nport: 9000\nstubs: []\n")
    second = write(tmp_path, "b.yaml", "service: users\nport: 9001\nstubs: []\n")
    problem = only_problem(tmp_path)
    assert problem.message.startswith(f"service 'users' has port 9000 in {first} but 9001 here")
    assert (problem.file, problem.key) == (str(second), "port")


def test_service_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "catalog.yml", "stubs: [{id: x}]\n")
    loaded = load_paths([tmp_path])
    assert list(loaded.services) == ["catalog"]
    assert loaded.stubs[0].service == "catalog"


def test_file_name_that_makes_no_service_name_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "bad name!.yaml", "stubs: []\n")
    problem = only_problem(path)
    assert "service name 'bad name!' must be 1-63 letters" in problem.message
    assert "set 'service:' in the file" in problem.message
    assert problem.file == str(path)


def test_invalid_service_key_is_located(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "svc.yaml", "stubs: []\nservice: 'a b'\n"))
    assert "service name 'a b' must be" in problem.message
    assert (problem.key, problem.line, problem.column) == ("service", 2, 1)


DOC_A = "stubs:\n  - request: {path: /a}\n  - request: {method: POST, path: /b}\n"
DOC_B = "stubs:\n  - request: {method: POST, path: /b}\n  - request: {path: /a}\n"


def test_default_ids_are_stable_across_reordering(tmp_path: Path) -> None:
    write(tmp_path, "one/svc.yaml", DOC_A)
    write(tmp_path, "two/svc.yaml", DOC_B)
    one = {s.describe_route(): s.id for s in load_paths([tmp_path / "one"]).stubs}
    two = {s.describe_route(): s.id for s in load_paths([tmp_path / "two"]).stubs}
    assert one == two
    assert one["POST /b"].startswith("svc-post-b-")


def test_default_ids_are_unique(tmp_path: Path) -> None:
    lines = [f"  - request: {{path: /item/{i}}}" for i in range(200)]
    lines += ["  - response: {status: 201}", "  - response: {status: 202}"]
    write(tmp_path, "svc.yaml", "stubs:\n" + "\n".join(lines) + "\n")
    ids = [s.id for s in load_paths([tmp_path]).stubs]
    assert len(ids) == len(set(ids)) == 202


def test_identical_stubs_without_ids_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.yaml", "stubs:\n  - request: {path: /a}\n  - request: {path: /a}\n")
    problem = only_problem(path)
    assert problem.message == "the same as stub #0, which always answers first"
    assert (problem.stub, problem.line) == ("#1", 3)


def test_integer_keys_do_not_break_default_ids(tmp_path: Path) -> None:
    write(tmp_path, "svc.yaml", "stubs:\n  - request: {query: {1: a, b: c}}\n")
    (stub,) = load_paths([tmp_path]).stubs
    assert stub.id.startswith("svc-any-")


def test_hidden_files_and_other_suffixes_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "svc.yaml", "stubs: [{id: x}]\n")
    write(tmp_path, ".hidden/broken.yaml", "{{{")
    write(tmp_path, "notes.txt", "{{{")
    assert [s.id for s in load_paths([os.fspath(tmp_path)]).stubs] == ["x"]


# ---------------------------------------------------------------------------------------------
# Files named as bodies are not stub files


@pytest.mark.parametrize("stub_file", ["a.yaml", "z.yaml", "a.json", "z.json"])
def test_a_json_file_named_as_a_body_is_not_a_stub_file_wherever_it_sorts(
    tmp_path: Path, stub_file: str
) -> None:
    write(tmp_path, stub_file, '{"stubs": [{"response": {"body_file": "m/big.json"}}]}')
    write(tmp_path, "m/big.json", '{"from": "not a stub file"}')
    tree = load_tree([tmp_path])
    assert (tree.files, tree.bodies) == ((tmp_path / stub_file,), (tmp_path / "m/big.json",))
    (stub,) = tree.stubs.stubs
    assert stub.response.body == b'{"from": "not a stub file"}'


def test_a_json_file_nobody_names_is_still_a_stub_file(tmp_path: Path) -> None:
    write(tmp_path, "svc.yaml", "stubs:\n  - response: {body: ok}\n")
    write(tmp_path, "m/big.json", '{"from": "not a stub file"}')
    assert "unknown key 'from'" in only_problem(tmp_path).message
