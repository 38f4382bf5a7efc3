"""The one exception type for bad input: it names the argument and says how to fix it."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a caller (a user, a cell, a configuration file).

    `argument` names the offending argument; the message says what is wrong and what to do.
    Callers such as the Excel functions prefix the message with their own name.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message
