import json
import os
import time

import pika
import pytest
import requests
from releases_app import announce_app, announce_newsletter


@pytest.fixture
def events():
    """What the service would receive on the fan-out exchange ``events``."""
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "events")

    def next_event(deadline=10.0):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is not None:
                return json.loads(body)
            connection.process_data_events(time_limit=0.05)  # waits on the socket, bounded
        raise AssertionError("no event within the deadline")

    yield next_event
    connection.close()


def test_an_android_release_reaches_the_play_store(mockserver):
    announce_app("We are publishing an Android App!")
    (message,) = mockserver.assert_published("incoming", "publish.playstore", times=1)
    assert message["consumer"] == "playstore"


def test_a_newsletter_is_answered_with_an_event(mockserver, events):
    announce_newsletter(42)
    assert events() == {"sent": True, "issue": 42}
    mockserver.assert_published("events", "", direction="published")


def test_an_http_call_triggers_the_event(mockserver):
    answer = requests.post(os.environ["RELEASES_URL"] + "/release", timeout=10)
    assert answer.status_code == 202
    # The double published it, and its own playstore consumer received it.
    mockserver.assert_published("incoming", "publish.playstore", direction="published")
    mockserver.assert_published("incoming", "publish.playstore", direction="consumed")
