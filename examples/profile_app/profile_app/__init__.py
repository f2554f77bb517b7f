"""profile_app: user profiles, read from the users service.

The service's base URL comes from the environment (``USERS_URL``), so the tests point it at
mockserver and production at the real service, with no change to this code.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests

__all__ = ["Profile", "create_user", "fetch_profile", "fetch_profiles"]


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    email: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        return cls(id=data["id"], name=data["name"], email=data["email"])


def _users(path: str) -> str:
    return os.environ["USERS_URL"] + path


def fetch_profile(user_id: str) -> Profile | None:
    """The user's profile, or None when the users service does not know them."""
    response = requests.get(_users(f"/api/user/{user_id}"), timeout=5)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return Profile.from_json(response.json())


def create_user(name: str, email: str) -> str:
    """Create a user; returns the new id."""
    response = requests.post(_users("/api/user"), json={"name": name, "email": email}, timeout=5)
    response.raise_for_status()
    return str(response.json()["id"])


async def fetch_profiles(user_ids: Iterable[str]) -> dict[str, Profile | None]:
    """Several profiles at once (concurrently, over one aiohttp session)."""

    async def one(session: aiohttp.ClientSession, user_id: str) -> Profile | None:
        async with session.get(_users(f"/api/user/{user_id}")) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return Profile.from_json(await response.json())

    ids = list(user_ids)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        found = await asyncio.gather(*(one(session, user_id) for user_id in ids))
    return dict(zip(ids, found, strict=True))
