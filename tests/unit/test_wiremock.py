"""WireMock mappings translated into our stubs: what each WireMock key matches and answers,
and the located problem for what has no counterpart. No sockets: matching is the index's."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.errors import Problem
from mockserver.core.matching import StubIndex
from mockserver.core.model import Stub, Timing
from mockserver.core.request import RequestView
from mockserver.formats.wiremock import is_wiremock, parse_mappings, service_for, wiremock_home
from mockserver.stubfiles.stubfile import combine

FILES = {"path/to/myfile.xml": b"<response>Some content</response>"}


def _read(relative: str) -> bytes:
    if relative not in FILES:
        raise ValueError(f"body_file {relative!r} does not exist")
    return FILES[relative]


def parsed(*mappings: dict[str, Any]) -> tuple[list[Stub], list[Problem]]:
    document: dict[str, Any] = {"mappings": list(mappings)}
    service, stubs, problems = parse_mappings(document, "root/mappings/m.json", "root", _read)
    if problems:
        return [], problems
    assert service is not None
    return list(combine([(service, stubs)]).stubs), []


def index(*mappings: dict[str, Any]) -> StubIndex:
    stubs, problems = parsed(*mappings)
    assert not problems, [str(p) for p in problems]
    return StubIndex(stubs)


def problems_of(*mappings: dict[str, Any]) -> list[str]:
    _, problems = parsed(*mappings)
    assert problems, "expected a problem"
    return [str(p) for p in problems]


def request(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | str = b"",
) -> RequestView:
    path, _, query = target.partition("?")
    data = body.encode() if isinstance(body, str) else body
    return RequestView(method, path, query, list((headers or {}).items()), data)


def answers(stubs: StubIndex, req: RequestView) -> str | None:
    found = stubs.match(req)
    return None if found is None else found.stub.response.body.decode()


def one(request_spec: dict[str, Any], body: str = "yes") -> StubIndex:
    return index({"request": request_spec, "response": {"body": body}})


def test_a_mapping_file_is_recognised_by_its_shape() -> None:
    assert is_wiremock({"request": {"url": "/"}, "response": {}})
    assert is_wiremock({"mappings": []})
    assert not is_wiremock({"stubs": [], "service": "x"})
    assert not is_wiremock({"interactions": [], "version": 1})


def test_service_names_come_from_the_root_directory() -> None:
    assert service_for(Path("/x/payments")) == "payments"
    assert service_for(Path("/x/my api!")) == "my-api"
    assert service_for(Path("/")) == "wiremock"


def test_url_is_the_path_and_the_query() -> None:
    stubs = one({"method": "GET", "url": "/things?colour=red"})
    assert answers(stubs, request("GET", "/things?colour=red")) == "yes"
    assert answers(stubs, request("GET", "/things?colour=blue")) is None
    assert answers(stubs, request("GET", "/things")) is None
    assert answers(stubs, request("GET", "/things/1?colour=red")) is None
    # WireMock's equality on the whole text: a parameter more, or another order, is refused.
    assert answers(stubs, request("GET", "/things?colour=red&size=2")) is None
    assert answers(stubs, request("GET", "/things?size=2&colour=red")) is None
    assert answers(one({"url": "/things"}), request("GET", "/things?colour=red")) is None
    assert answers(one({"url": "/things"}), request("GET", "/things")) == "yes"
    ordered = one({"url": "/t?a=1&b=2"})
    assert answers(ordered, request("GET", "/t?a=1&b=2")) == "yes"
    assert answers(ordered, request("GET", "/t?b=2&a=1")) is None
    repeated = one({"url": "/t?a=1&a=2"})  # a repeated parameter is the text it is
    assert answers(repeated, request("GET", "/t?a=1&a=2")) == "yes"
    assert answers(repeated, request("GET", "/t?a=2&a=1")) is None
    # Escapes are compared as the server decodes them: %20 and + are one space.
    escaped = one({"url": "/s?q=a%20b"})
    assert answers(escaped, request("GET", "/s?q=a b")) == "yes"


def test_a_url_that_differs_is_a_near_miss_that_hides_secret_parameters() -> None:
    from mockserver.core.matching import Difference, differences

    def url_difference(stub: Stub, target: str) -> Difference:
        return next(d for d in differences(stub, request("GET", target)) if d.field == "url")

    (stub,), _ = parsed({"request": {"url": "/x?page=1"}, "response": {}})
    found = url_difference(stub, "/x?page=2")
    assert (found.expected, found.actual) == ('equals "/x?page=1"', '"/x?page=2"')
    (secret,), _ = parsed({"request": {"url": "/x?token=abc"}, "response": {}})
    for target in ("/x?token=zzz", "/x?page=2"):
        for found in differences(secret, request("GET", target)):
            shown = f"{found.expected} {found.actual} {found.why}"
            assert "abc" not in shown, shown  # the stub's secret
            assert "zzz" not in shown, shown  # the request's
    found = url_difference(secret, "/x?token=zzz")
    assert (found.expected, found.actual) == ("<redacted>", '"/x?token=<redacted>"')
    # A url stub (no other path) that misses is as far as a path that misses.
    (pattern,), _ = parsed({"request": {"urlPattern": "/api/.*"}, "response": {}})
    assert url_difference(pattern, "/other").weight > 1.0


def test_url_beside_query_parameters_needs_both() -> None:
    stubs = one({"url": "/s?a=1", "queryParameters": {"a": {"equalTo": "1"}}})
    assert answers(stubs, request("GET", "/s?a=1")) == "yes"
    assert answers(stubs, request("GET", "/s?a=1&b=2")) is None


def test_url_path_is_literal_even_with_braces_and_escapes() -> None:
    stubs = one({"urlPath": "/files/{name}/a%20b"})
    assert answers(stubs, request("GET", "/files/{name}/a b")) == "yes"
    assert answers(stubs, request("GET", "/files/x/a b")) is None


def test_url_patterns_match_the_whole_path() -> None:
    stubs = one({"urlPathPattern": "/api/[a-z]+"})
    assert answers(stubs, request("GET", "/api/things")) == "yes"
    assert answers(stubs, request("GET", "/api/things/1")) is None
    assert answers(stubs, request("GET", "/v2/api/things")) is None
    pattern = one({"urlPattern": "/api/.*"})
    assert answers(pattern, request("GET", "/api/x?y=1")) == "yes"
    assert answers(pattern, request("GET", "/other")) is None
    # The regex reads the path and the query together, as WireMock's does.
    strict = one({"urlPattern": "/api/[a-z]+"})
    assert answers(strict, request("GET", "/api/x")) == "yes"
    assert answers(strict, request("GET", "/api/x?y=1")) is None
    query = one({"urlPattern": "/a\\?b=[0-9]+"})
    assert answers(query, request("GET", "/a?b=12")) == "yes"
    assert answers(query, request("GET", "/a?b=12&c=3")) is None
    assert answers(query, request("GET", "/a?c=3")) is None


def test_url_path_template_is_our_template() -> None:
    stubs = one({"urlPathTemplate": "/contacts/{contactId}"})
    assert answers(stubs, request("GET", "/contacts/12")) == "yes"
    assert answers(stubs, request("GET", "/contacts/12/addresses")) is None


def test_method_any_and_a_named_method() -> None:
    anything = one({"method": "ANY", "urlPath": "/a"})
    assert answers(anything, request("DELETE", "/a")) == "yes"
    only_post = one({"method": "POST", "urlPath": "/a"})
    assert answers(only_post, request("POST", "/a")) == "yes"
    assert answers(only_post, request("GET", "/a")) is None


def test_header_names_are_case_insensitive_and_values_follow_the_operator() -> None:
    stubs = one(
        {
            "urlPath": "/h",
            "headers": {
                "Content-Type": {"equalTo": "APPLICATION/JSON", "caseInsensitive": True},
                "Accept": {"contains": "xml"},
                "X-Id": {"matches": "[0-9]+"},
                "X-Env": {"doesNotMatch": "prod.*"},
                "X-Debug": {"absent": True},
            },
        }
    )
    good = {
        "content-type": "application/json",
        "accept": "text/xml",
        "x-id": "42",
        "x-env": "staging",
    }
    assert answers(stubs, request("GET", "/h", good)) == "yes"
    for name, value in (
        ("content-type", "text/plain"),
        ("accept", "text/html"),
        ("x-id", "42a"),  # matches is a whole-value match
        ("x-env", "production"),
        ("x-debug", "1"),
    ):
        assert answers(stubs, request("GET", "/h", {**good, name: value})) is None, name


def test_query_parameters_and_cookies() -> None:
    stubs = one(
        {
            "urlPath": "/q",
            "queryParameters": {
                "search_term": {"equalTo": "WireMock"},
                "page": {"doesNotContain": "-"},
                "debug": {"absent": True},
            },
            "cookies": {"session": {"matches": ".*12345.*"}},
        }
    )
    cookie = {"cookie": "session=ab12345cd"}
    assert answers(stubs, request("GET", "/q?search_term=WireMock&page=2", cookie)) == "yes"
    assert answers(stubs, request("GET", "/q?search_term=WireMock&page=-2", cookie)) is None
    assert answers(stubs, request("GET", "/q?search_term=WireMock&debug=1", cookie)) is None
    assert answers(stubs, request("GET", "/q?search_term=wiremock", cookie)) is None
    assert answers(stubs, request("GET", "/q?search_term=WireMock", {"cookie": "s=1"})) is None


def test_basic_auth_credentials_are_an_authorization_header() -> None:
    stubs = one(
        {"urlPath": "/auth", "basicAuthCredentials": {"username": "jeff", "password": "pw"}}
    )
    token = base64.b64encode(b"jeff:pw").decode()
    assert answers(stubs, request("GET", "/auth", {"Authorization": f"Basic {token}"})) == "yes"
    assert answers(stubs, request("GET", "/auth")) is None


def test_and_or_not() -> None:
    stubs = one(
        {
            "urlPath": "/l",
            "headers": {
                "X-A": {"and": [{"contains": "a"}, {"contains": "b"}]},
                "X-B": {"or": [{"equalTo": "1"}, {"equalTo": "2"}]},
            },
        }
    )
    assert answers(stubs, request("GET", "/l", {"x-a": "ab", "x-b": "2"})) == "yes"
    assert answers(stubs, request("GET", "/l", {"x-a": "a", "x-b": "2"})) is None
    assert answers(stubs, request("GET", "/l", {"x-a": "ab", "x-b": "3"})) is None


def test_string_body_patterns() -> None:
    equal = one({"urlPath": "/b", "bodyPatterns": [{"equalTo": "hello"}]})
    assert answers(equal, request("POST", "/b", body="hello")) == "yes"
    assert answers(equal, request("POST", "/b", body="hello!")) is None
    matches = one({"urlPath": "/b", "bodyPatterns": [{"matches": "id=[0-9]+"}]})
    assert answers(matches, request("POST", "/b", body="id=12")) == "yes"
    assert answers(matches, request("POST", "/b", body="id=12&x=1")) is None


def test_equal_to_json_is_semantic_and_its_options_loosen_it() -> None:
    exact = one({"urlPath": "/j", "bodyPatterns": [{"equalToJson": '{"a": 1, "b": [1, 2]}'}]})
    assert answers(exact, request("POST", "/j", body='{"b":[1,2], "a":1.0}')) == "yes"
    assert answers(exact, request("POST", "/j", body='{"a":1,"b":[2,1]}')) is None
    assert answers(exact, request("POST", "/j", body='{"a":1,"b":[1,2],"c":3}')) is None
    loose = one(
        {
            "urlPath": "/j",
            "bodyPatterns": [
                {
                    "equalToJson": {"a": 1, "b": [1, 2]},
                    "ignoreArrayOrder": True,
                    "ignoreExtraElements": True,
                }
            ],
        }
    )
    assert answers(loose, request("POST", "/j", body='{"a":1,"b":[2,1],"c":3}')) == "yes"
    assert answers(loose, request("POST", "/j", body='{"a":2,"b":[1,2]}')) is None


def test_ignore_array_order_alone_refuses_extra_elements_and_fields() -> None:
    """JsonUnit's IGNORING_ARRAY_ORDER, which is all ignoreArrayOrder turns on: any order, but
    the same elements, as many of each, and no field more."""
    stubs = one(
        {
            "urlPath": "/j",
            "bodyPatterns": [
                {
                    "equalToJson": {"a": 1, "b": [1, 2, 2, {"c": [3, 4]}]},
                    "ignoreArrayOrder": True,
                }
            ],
        }
    )
    body = '{"a":1,"b":[{"c":[4,3]},2,1,2]}'  # every array in another order, nested too
    assert answers(stubs, request("POST", "/j", body=body)) == "yes"
    for body in (
        '{"a":1,"b":[1,2,2,{"c":[3,4]},5]}',  # an element more
        '{"a":1,"b":[1,1,2,{"c":[3,4]}]}',  # as many elements, not as many of each
        '{"a":1,"b":[1,2,2,{"c":[3,4]}],"d":0}',  # a field more
        '{"a":1,"b":[1,2,2,{"c":[3,4],"d":0}]}',  # a field more, nested
        '{"a":1,"b":[1,2,{"c":[3,4]}]}',  # an element missing
    ):
        assert answers(stubs, request("POST", "/j", body=body)) is None, body


def test_ignore_extra_elements_alone_keeps_array_order() -> None:
    stubs = one(
        {
            "urlPath": "/j",
            "bodyPatterns": [
                {"equalToJson": {"a": 1, "b": [1, 2], "c": None}, "ignoreExtraElements": True}
            ],
        }
    )
    assert answers(stubs, request("POST", "/j", body='{"a":1,"b":[1,2,3],"c":null,"d":0}')) == "yes"
    for body in (
        '{"a":1,"b":[2,1],"c":null}',  # order kept
        '{"a":1,"b":[1],"c":null}',  # an element missing
        '{"a":1,"b":{"0":1,"1":2},"c":null}',  # an object is no array
        '{"a":1,"b":[1,2]}',  # null is a value
        "[1, 2]",
    ):
        assert answers(stubs, request("POST", "/j", body=body)) is None, body


def test_matches_json_path_with_filters_and_sub_matchers() -> None:
    stubs = one(
        {
            "urlPath": "/p",
            "bodyPatterns": [
                {"matchesJsonPath": "$.things[?(@.name == 'RequiredThing')]"},
                {"matchesJsonPath": {"expression": "$.owner", "contains": "Tom"}},
            ],
        }
    )
    body = '{"things": [{"name": "RequiredThing"}], "owner": "Tomas"}'
    assert answers(stubs, request("POST", "/p", body=body)) == "yes"
    other = '{"things": [{"name": "Else"}], "owner": "Tomas"}'
    assert answers(stubs, request("POST", "/p", body=other)) is None
    assert answers(stubs, request("POST", "/p", body=body.replace("Tom", "Ann"))) is None


def test_xml_body_patterns() -> None:
    stubs = one(
        {
            "urlPath": "/x",
            "bodyPatterns": [
                {"equalToXml": "<todo-list><todo-item id='1'>wash</todo-item></todo-list>"},
                {"matchesXPath": {"expression": "//todo-item/text()", "contains": "wash"}},
            ],
        }
    )
    xml = {"Content-Type": "application/xml"}
    body = '<todo-list>\n  <todo-item id="1">wash</todo-item>\n</todo-list>'
    assert answers(stubs, request("POST", "/x", xml, body)) == "yes"
    assert answers(stubs, request("POST", "/x", xml, body.replace('"1"', '"2"'))) is None
    extra = body.replace("</todo-list>", "<todo-item/></todo-list>")
    assert answers(stubs, request("POST", "/x", xml, extra)) is None
    spaced = one(
        {
            "urlPath": "/x",
            "bodyPatterns": [
                {"matchesXPath": "/s:order/s:item", "xPathNamespaces": {"s": "urn:shop"}}
            ],
        }
    )
    order = '<order xmlns="urn:shop"><item/></order>'
    assert answers(spaced, request("POST", "/x", xml, order)) == "yes"
    assert answers(spaced, request("POST", "/x", xml, "<order><item/></order>")) is None


def test_form_parameters_read_a_form_body() -> None:
    stubs = one({"urlPath": "/f", "formParameters": {"tool": {"equalTo": "WireMock"}}})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert answers(stubs, request("POST", "/f", form, "tool=WireMock&x=1")) == "yes"
    assert answers(stubs, request("POST", "/f", form, "tool=other")) is None


def test_priority_one_is_the_highest_and_the_newest_wins_a_tie() -> None:
    stubs = index(
        {"priority": 10, "request": {"urlPattern": "/api/.*"}, "response": {"body": "catch"}},
        {"priority": 1, "request": {"url": "/api/x"}, "response": {"body": "specific"}},
        {"request": {"url": "/api/y"}, "response": {"body": "older"}},
        {"request": {"url": "/api/y"}, "response": {"body": "newer"}},
    )
    assert answers(stubs, request("GET", "/api/x")) == "specific"
    assert answers(stubs, request("GET", "/api/other")) == "catch"
    assert answers(stubs, request("GET", "/api/y")) == "newer"


def test_scenarios_start_in_started() -> None:
    stubs, _ = parsed(
        {
            "scenarioName": "To do list",
            "requiredScenarioState": "Started",
            "newScenarioState": "Item added",
            "request": {"url": "/todo"},
            "response": {},
        }
    )
    scenario = stubs[0].scenario
    assert scenario is not None
    assert (scenario.name, scenario.state, scenario.next) == ("To do list", "started", "Item added")


def test_responses() -> None:
    stubs = index(
        {
            "request": {"url": "/file"},
            "response": {"status": 203, "bodyFileName": "path/to/myfile.xml"},
        },
        {"request": {"url": "/json"}, "response": {"jsonBody": {"a": [1, 2]}}},
        {"request": {"url": "/b64"}, "response": {"base64Body": "WUVTIElOREVFRCE="}},
        {
            "request": {"url": "/headers"},
            "response": {"headers": {"X-Many": ["1", "2"], "Content-Length": "99"}},
        },
    )
    found = stubs.match(request("GET", "/file"))
    assert found is not None
    assert (found.stub.response.status, found.stub.response.body) == (
        203,
        FILES["path/to/myfile.xml"],
    )
    assert answers(stubs, request("GET", "/json")) == '{"a":[1,2]}'
    assert answers(stubs, request("GET", "/b64")) == "YES INDEED!"
    found = stubs.match(request("GET", "/headers"))
    assert found is not None
    assert found.stub.response.headers == (("X-Many", "1"), ("X-Many", "2"))  # framing is ours
    assert found.stub.response.etag is False  # WireMock sends no ETag of its own


@pytest.mark.parametrize(
    ("given", "delay", "timing"),
    [
        ({"fixedDelayMilliseconds": 200}, (200, 200), None),
        ({"delayDistribution": {"type": "uniform", "lower": 15, "upper": 25}}, (15, 25), None),
        (
            {
                "fixedDelayMilliseconds": 5,
                "delayDistribution": {"type": "uniform", "lower": 1, "upper": 2},
            },
            (6, 7),
            None,
        ),
        (
            {"delayDistribution": {"type": "lognormal", "median": 80, "sigma": 0.4}},
            (0, 0),
            Timing(lognormal=(80, 0.4)),
        ),
    ],
)
def test_delays(given: dict[str, Any], delay: tuple[int, int], timing: Timing | None) -> None:
    stubs, _ = parsed({"request": {"url": "/slow"}, "response": given})
    assert (stubs[0].response.delay_ms, stubs[0].response.timing) == (delay, timing)


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ("CONNECTION_RESET_BY_PEER", "connection_reset"),
        ("EMPTY_RESPONSE", "empty_response"),
        ("RANDOM_DATA_THEN_CLOSE", "malformed_response"),
        ("MALFORMED_RESPONSE_CHUNK", "truncated_body"),
    ],
)
def test_faults(theirs: str, ours: str) -> None:
    stubs, _ = parsed({"request": {"url": "/f"}, "response": {"fault": theirs}})
    assert stubs[0].response.fault == ours


@pytest.mark.parametrize(
    ("mapping", "label", "key"),
    [
        (
            {"id": "m-1", "request": {"url": "/", "customMatcher": {"name": "x"}}},
            "'m-1'",
            "request.customMatcher",
        ),
        (
            {"request": {"url": "/"}, "response": {"proxyBaseUrl": "http://x"}},
            "#0",
            "response.proxyBaseUrl",
        ),
        (
            {"request": {"url": "/"}, "response": {"transformers": ["response-template"]}},
            "#0",
            "response.transformers",
        ),
        ({"request": {"url": "/"}, "postServeActions": []}, "#0", "postServeActions"),
        (
            {"request": {"url": "/", "bodyPatterns": [{"matchesJsonSchema": "{}"}]}},
            "#0",
            "request.bodyPatterns[0]",
        ),
        ({"request": {"urlPattern": "/a(b"}}, "#0", "request.urlPattern"),
        ({"request": {"url": "/"}, "response": {"fault": "SOMETHING"}}, "#0", "response.fault"),
        (
            {
                "request": {"url": "/"},
                "response": {
                    "delayDistribution": {
                        "type": "lognormal",
                        "median": 1,
                        "sigma": 1,
                        "maxValue": 9,
                    }
                },
            },
            "#0",
            "response.delayDistribution",
        ),
        (
            {"request": {"url": "/"}, "response": {"bodyFileName": "missing.json"}},
            "#0",
            "response.bodyFileName",
        ),
        ({"request": {"urlPathPattern": "/(unclosed"}}, "#0", "request.urlPathPattern"),
    ],
)
def test_what_has_no_counterpart_is_a_located_problem(
    mapping: dict[str, Any], label: str, key: str
) -> None:
    problems = problems_of(
        {"request": {"url": "/ok"}}, {**mapping, "response": mapping.get("response", {})}
    )
    assert len(problems) == 1, problems
    # The file, the mapping (its id, else its index in the file) and the WireMock key.
    expected = label if label != "#0" else "#1"
    assert problems[0].startswith(f"root/mappings/m.json: stub {expected}: {key}"), problems


def test_a_single_mapping_file_names_its_mapping_by_id() -> None:
    document = {"id": "abc", "request": {"url": "/"}, "response": {"statusMessage": "Fine"}}
    _, _, problems = parse_mappings(document, "m.json", "root", _read)
    assert [str(p) for p in problems] == [
        "m.json: stub 'abc': response.statusMessage: 'statusMessage' is not supported (proxying, "
        "transformers and templates are not translated); mockserver serves status, headers, "
        "body, jsonBody, base64Body, bodyFileName, fixedDelayMilliseconds, delayDistribution, "
        "chunkedDribbleDelay, fault"
    ]


def test_a_problem_our_parser_finds_is_named_by_the_wiremock_key() -> None:
    problems = problems_of(
        {
            "id": "s-1",
            "scenarioName": "a/b",
            "newScenarioState": "next/one",
            "request": {"url": "/"},
        }
    )
    keys = sorted(p.split(": ")[2] for p in problems)
    assert keys == ["newScenarioState", "scenarioName"], problems
    assert all(p.startswith("root/mappings/m.json: stub 's-1': ") for p in problems)


def test_the_root_of_a_mapping_file(tmp_path: Path) -> None:
    nested = tmp_path / "stubs" / "payments" / "mappings" / "deep" / "m.json"
    nested.parent.mkdir(parents=True)
    nested.write_text("{}")
    stubs = tmp_path / "stubs"
    assert wiremock_home(nested, stubs) == (stubs / "payments").resolve()
    # Served as mappings/ itself: the root is its parent, found all the same.
    assert wiremock_home(nested, stubs / "payments" / "mappings") == (stubs / "payments").resolve()
    # No mappings/ above it inside the stubs root: the file's own directory.
    loose = stubs / "loose.json"
    loose.write_text("{}")
    assert wiremock_home(loose, stubs) == stubs.resolve()


def test_served_as_mappings_itself_a_body_file_stays_inside_what_was_given(tmp_path: Path) -> None:
    from mockserver.core.errors import StubFileError
    from mockserver.formats.loader import load_tree
    from mockserver.formats.wiremock_files import is_static

    root = tmp_path / "payments"
    (root / "mappings").mkdir(parents=True)
    (root / "__files").mkdir()
    (root / "__files" / "a.json").write_text("{}")
    mapping = {"id": "m", "request": {"url": "/a"}, "response": {"bodyFileName": "a.json"}}
    (root / "mappings" / "a.json").write_text(json.dumps(mapping))
    stubs = load_tree([root]).stubs.stubs
    assert [stub.id for stub in stubs if not is_static(stub)] == ["m"]
    assert [stub.request.path.text for stub in stubs if is_static(stub)] == ["/a.json"]
    with pytest.raises(StubFileError) as refused:
        load_tree([root / "mappings"])
    assert "stub 'm': response.bodyFileName: body_file 'a.json' is outside" in str(refused.value)


def test_a_delay_our_parser_refuses_names_both_delay_keys() -> None:
    (problem,) = problems_of(
        {"request": {"url": "/"}, "response": {"fixedDelayMilliseconds": 10**7}}
    )
    assert ": response (fixedDelayMilliseconds, delayDistribution): " in problem


def test_a_file_of_files_is_bounded_as_a_body_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver.core.errors import StubFileError
    from mockserver.formats import loader

    root = tmp_path / "big"
    (root / "mappings").mkdir(parents=True)
    (root / "mappings" / "m.json").write_text(json.dumps({"request": {"url": "/"}}))
    (root / "__files").mkdir()
    (root / "__files" / "large.bin").write_bytes(b"x" * 2048)
    monkeypatch.setattr(loader, "MAX_BODY_FILE_BYTES", 1024)
    with pytest.raises(StubFileError) as refused:
        loader.load_tree([root])
    message = str(refused.value)
    assert str(root / "__files") in message
    assert "body_file 'large.bin' is 2,048 bytes; the limit is 1,024" in message
