"""A problem that stops a command, said once: one text line on stderr, or one JSON object.

In JSON log mode (``--log-format json`` or ``MOCKSERVER_LOG_FORMAT=json``) a start-up error is
a JSON object like every log line, so a log collector never meets a line it cannot parse;
this is also true of a usage error found before the options are parsed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from mockserver.core.config import ENV_PREFIX
from mockserver.output.logs import JsonFormatter

__all__ = ["asked_format", "report"]


def asked_format(argv: Sequence[str] | None = None) -> str:
    """``json`` when the command line or the environment asks for JSON logs, else ``text``.

    Read from the raw arguments, so that a usage error (the options not parsed yet) is
    reported in the format the operator chose.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    chosen = os.environ.get(ENV_PREFIX + "LOG_FORMAT", "")
    for i, arg in enumerate(args):
        if arg == "--log-format" and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--log-format="):
            chosen = arg.partition("=")[2]
    return "json" if chosen.strip().lower() == "json" else "text"


def report(message: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """``mockserver: MESSAGE`` on stderr, or as JSON at level error in JSON mode."""
    out = stream or sys.stderr
    if log_format == "json":
        record = logging.makeLogRecord(
            {"name": "mockserver", "levelno": logging.ERROR, "levelname": "ERROR", "msg": message}
        )
        print(JsonFormatter().format(record), file=out, flush=True)
    else:
        print(f"mockserver: {message}", file=out, flush=True)
