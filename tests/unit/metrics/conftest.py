"""Shared fixtures of the metrics core tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from opsconsole import net


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client as the console builds them (net.build_client), closed after the test."""
    async with net.build_client(None) as c:
        yield c
