"""The one exception type ctx raises for anything a user should read."""

from __future__ import annotations

DATA_ERROR = 2  # bad plan, bad input, unknown id: the user fixes data
FAILURE = 1  # the world said no: git failed, a tool is missing


class CtxError(Exception):
    """A failure with a one-line message for people, an optional hint and an exit code."""

    def __init__(self, message: str, *, hint: str | None = None, code: int = FAILURE):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return self.message


def data_error(message: str, *, hint: str | None = None) -> CtxError:
    return CtxError(message, hint=hint, code=DATA_ERROR)
