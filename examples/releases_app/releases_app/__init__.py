"""Announces releases on RabbitMQ (topic exchange ``incoming``), as the services this
example stands for do, with pika."""

from __future__ import annotations

import json
import os
from typing import Any

import pika

EXCHANGE = "incoming"


def _channel() -> tuple[pika.BlockingConnection, Any]:
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def announce_app(text: str) -> None:
    """An app release, for the play store."""
    connection, channel = _channel()
    try:
        channel.basic_publish(
            EXCHANGE,
            "publish.playstore",
            text.encode(),
            pika.BasicProperties(content_type="text/plain"),
        )
    finally:
        connection.close()


def announce_newsletter(issue: int) -> None:
    """A newsletter issue, as JSON."""
    connection, channel = _channel()
    body = json.dumps({"kind": "newsletter", "issue": issue}).encode()
    try:
        channel.basic_publish(
            EXCHANGE,
            "publish.newsletter",
            body,
            pika.BasicProperties(content_type="application/json"),
        )
    finally:
        connection.close()
