"""The plugin and the messaging doubles, pika as the service under test on a private
RabbitMQ: ``mockserver.messages``, ``assert_published``, and strict mode failing a test whose
service published a message no consumer matched, with the nearest consumer's differences."""

from __future__ import annotations

import uuid

import pytest

from tests.rabbitserver import RabbitServer

from .conftest import Project

RELEASES = """
service: releases
amqp:
  url: {url}
  exchanges: [{{name: {incoming}, type: topic}}]
  consumers:
    - id: playstore
      queue: {queue}
      bind: {{exchange: {incoming}, routing_key: "publish.*"}}
      match: {{body: {{contains: Android}}}}
stubs:
  - id: release
    request: {{method: POST, path: /release}}
    response:
      status: 202
      publish: [{{exchange: {incoming}, routing_key: released.playstore, json: {{ok: true}}}}]
"""

TESTS = """
import os
import time

import pika
import requests

URL = "{url}"


def publish(key, body):
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("{incoming}", key, body.encode())
    connection.close()


def test_the_service_published_what_the_double_expects(mockserver):
    publish("publish.playstore", "We are publishing an Android App!")
    (message,) = mockserver.assert_published("{incoming}", "publish.playstore", times=1)
    assert (message["consumer"], message["matched"]) == ("playstore", True)


def test_an_http_stub_publishes(mockserver):
    assert requests.post(os.environ["RELEASES_URL"] + "/release", timeout=10).status_code == 202
    mockserver.assert_published("{incoming}", "released.playstore", direction="published")
    assert [m["direction"] for m in mockserver.messages] == ["published"]


def test_a_message_no_consumer_matches_fails_the_test(mockserver):
    publish("publish.newsletter", "Our monthly newsletter")
    mockserver.assert_published("{incoming}", "publish.newsletter")


def test_assert_published_fails_listing_what_was_seen(mockserver):
    publish("publish.playstore", "An Android App")
    mockserver.assert_published("{incoming}", "publish.appstore", timeout=0.5)
"""


def test_strict_runs_fail_on_a_message_no_consumer_matched(
    project: Project, pytester: pytest.Pytester
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = {"incoming": f"incoming.{tag}", "queue": f"mock.playstore.{tag}"}
    with RabbitServer() as broker:
        stubs = RELEASES.format(url=broker.url, **names)
        project(
            {"test_releases.py": TESTS.format(url=broker.url, **names)},
            stubs={"stubs/releases.yaml": stubs},
        )
        result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    assert "mockserver: 1 message matched no consumer" in output
    assert "publish.newsletter" in output
    assert "nearest consumer 'playstore'" in output
    assert 'body: "Our monthly newsletter" does not contain "Android"' in output
    assert "expected a message to" in output
    assert "'publish.appstore' at least once, got 0" in output
    assert "consumed incoming." in output  # the journaled messages are listed
