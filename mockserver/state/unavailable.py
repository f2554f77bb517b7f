"""StoreUnavailable: Redis cannot be reached. Apart from redis.py so that the admin API can
answer it without importing redis-py, which a server with the memory store never loads."""

from __future__ import annotations

from mockserver.core.errors import HttpProblem, MockServerError

__all__ = ["StoreUnavailable"]


class StoreUnavailable(MockServerError):
    """Redis cannot be reached: answered 503 naming the store (URL redacted)."""

    def __init__(self, location: str, reason: str, fix: str = "") -> None:
        self.location, self.reason = location, reason
        said = f"the state store {location} cannot be reached: {reason}"
        super().__init__(f"{said}; {fix}" if fix else said)

    def problem(self) -> HttpProblem:
        return HttpProblem(
            503,
            "state store unavailable",
            f"the state store {self.location} cannot be reached ({self.reason}); static "
            "stubs keep serving, and this works again once Redis is back",
        )
