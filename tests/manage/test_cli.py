"""`python -m server create-admin`, run against an injected mongomock database."""
from __future__ import annotations

import argparse
import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from mongomock_motor import AsyncMongoMockClient

from server.__main__ import main
from server.manage.cli import create_admin
from server.settings import Settings, load_settings

GOOD = {"username": "root", "email": "Root@Example.com", "password": "S3cret-pass", "full_name": "Root"}


def _args(**overrides: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**GOOD, **overrides})


@pytest.fixture
def settings() -> Settings:
    return load_settings(env={}, mongo_url="mongodb://localhost:1/tally")


@pytest.fixture
def db() -> Any:
    return AsyncMongoMockClient()["cli"]


async def test_creates_a_global_admin_and_prints_only_its_api_key(settings: Settings, db: Any,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert await create_admin(settings, _args(), database=db, now=1_700_000_000) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"[0-9a-f]{32}\n", out) and err == ""
    member = await db["members"].find_one({"api_key": out.strip()})
    assert {k: member[k] for k in ("username", "email", "full_name", "global_admin", "locked", "created_at")} == \
        {"username": "root", "email": "root@example.com", "full_name": "Root", "global_admin": True,
         "locked": False, "created_at": 1_700_000_000}
    assert PasswordHasher().verify(member["password"], "S3cret-pass")
    assert "api_key_1" in await db["members"].index_information()


@pytest.mark.parametrize("overrides, message", [
    ({"password": "weak"}, ("Length of password is lower than min length value; password should have number; "
                           "password should have upchar; password should have special character")),
    ({"username": None}, "missing --username"),
    ({"email": "", "password": None}, "missing --email, --password"),
])
async def test_refuses_bad_input(settings: Settings, db: Any, capsys: pytest.CaptureFixture[str],
                                 overrides: dict[str, Any], message: str) -> None:
    assert await create_admin(settings, _args(**overrides), database=db) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"tally create-admin: {message}\n"
    assert await db["members"].count_documents({}) == 0


async def test_refuses_a_taken_username(settings: Settings, db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert await create_admin(settings, _args(), database=db) == 0
    capsys.readouterr()
    assert await create_admin(settings, _args(email="other@example.com"), database=db) == 2
    assert capsys.readouterr() == ("", "tally create-admin: Email or username already exists\n")
    assert await db["members"].count_documents({}) == 1


async def test_refuses_memory_store(capsys: pytest.CaptureFixture[str]) -> None:
    memory = load_settings(env={}, mongo_url="memory://")
    assert await create_admin(memory, _args()) == 2
    out, err = capsys.readouterr()
    assert out == "" and "memory://" in err and "TALLY_ADMIN_API_KEY" in err


def test_command_line_refuses_memory_store(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TALLY_MONGO_URL", "memory://")
    argv = ["create-admin", "--username", "root", "--email", "r@x.org", "--password", "S3cret-pass"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "create-admin: TALLY_MONGO_URL is memory://" in err
