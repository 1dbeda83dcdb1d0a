"""Domain errors that reach API clients. Each has a stable ``type`` (the problem+json
``type``), an HTTP status and a title; the detail says what to change."""

from __future__ import annotations


class ProblemError(Exception):
    type = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ProblemError):
    type = "invalid_input"
    title = "Invalid input"


class ModelNotFound(ProblemError):
    type = "model_not_found"
    status = 404
    title = "Model not found"


class ModelRetired(ProblemError):
    type = "model_retired"
    status = 410
    title = "Model retired"
