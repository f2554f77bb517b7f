"""aiohttp's own log in the processes of ``serve`` and ``record``: its noise about clients'
broken requests is dropped there.

Installed by the command's processes only (cli/main.py, workers/worker.py), never on import:
in a process a user owns (the pytest plugin's in-process server) aiohttp's loggers are theirs,
and a broken request there is the test's own doing, worth seeing in its captured log.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

__all__ = ["DrainNoise", "quiet_client_errors"]


class DrainNoise(logging.Filter):
    """Drops aiohttp's "Unhandled exception" when it drains a body we already answered 400,
    and its "Error handling request" for a request it could not parse (answered 400 too).

    After a corrupt gzip body gets its 400, aiohttp reads what is left of it, meets the same
    decoding error and logs it with a traceback, which reads like a crash but is not one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, BadHttpMessage | web.RequestPayloadError)


def quiet_client_errors() -> None:
    """Filter ``aiohttp.server`` with DrainNoise in this process (once, however often asked)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(kept, DrainNoise) for kept in logger.filters):
        logger.addFilter(DrainNoise())
