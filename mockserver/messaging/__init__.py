"""Messaging doubles on RabbitMQ (AMQP 0-9-1): the consumers and publishers a stub file's
``amqp:`` section and its responses' ``publish:`` lists describe, run with aio-pika."""
