"""One error shape for every 4xx/5xx: {code, status, message, errors}."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Response, jsonify
from flask_smorest import Api
from flask_smorest import abort as _abort
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def abort(code: int, message: str, errors: dict[str, Any] | None = None) -> NoReturn:
    _abort(code, message=message, errors=errors or {})
    raise AssertionError("unreachable")


class PaperScoutApi(Api):
    """flask-smorest Api whose error payload always carries all four fields."""

    def handle_http_exception(self, error: HTTPException) -> tuple[Response, int, dict[str, str]]:
        if isinstance(error, InternalServerError) and error.original_exception is not None:
            log.error("unhandled error", exc_info=error.original_exception)
        data = getattr(error, "data", None) or {}
        errors = data.get("errors", data.get("messages", {}))
        message = data.get("message") or _message_for(error, errors)
        payload = {"code": error.code, "status": error.name, "message": message, "errors": errors or {}}
        headers = dict(data.get("headers") or {})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return jsonify(payload), error.code or 500, headers


def _message_for(error: HTTPException, errors: Any) -> str:
    if error.code == 400 and isinstance(errors, dict) and "json" in errors:
        return "The request body is not valid JSON."
    if error.code == 422 and errors:
        return "The request was well-formed but some fields are invalid; see errors."
    if error.code == 500:
        return "Internal server error. The request was not completed; nothing was changed."
    return error.description or error.name
