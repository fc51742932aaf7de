"""Errors a teacher raises. Each message names the teacher, the value at fault and the fix."""

from __future__ import annotations


class TeacherError(RuntimeError):
    """Base class: something went wrong while a teacher was loaded or asked for proposals."""


class MissingExtraError(TeacherError, ImportError):
    """An optional backend package is not installed; the message says which extra to install."""


class TeacherRequestError(TeacherError):
    """The server rejected a request (a 4xx other than 429): retrying would not help.

    ``status`` is the HTTP status code; the message carries the server's explanation.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TeacherUnavailableError(TeacherError):
    """The server kept failing (connection errors, 429 or 5xx) after every retry."""


class TeacherTimeoutError(TeacherUnavailableError, TimeoutError):
    """The last attempt (after every retry) ran past the teacher's ``timeout``."""
