"""One error family. Handlers raise; only `server.output.error_middleware` renders them."""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as `{"result": <result>}` with `status`."""

    status = 400

    def __init__(self, result: Any, status: int | None = None) -> None:
        super().__init__(result)
        self.result = result
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class ServiceUnavailable(ApiError):
    """MongoDB is slow or unreachable, or too many updates are unwritten: the SDK should retry."""

    status = 503
