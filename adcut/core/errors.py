"""Errors with a user-facing message. Library code raises these; only the CLI prints them
and chooses exit codes."""

from __future__ import annotations


class AdcutError(Exception):
    """Base of every error adcut reports to a user.

    `message` says what was wrong in one line; `hint` says what to do about it. The CLI prints
    them as one line, `{prefix}: message (hint)`, and exits with `exit_code`.
    """

    exit_code = 2
    prefix = "error"

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInputError(AdcutError):
    """The user's arguments or files cannot be used as given."""


class MediaError(AdcutError):
    """A media file cannot be probed, decoded or used for the asked purpose."""


class DependencyError(AdcutError):
    """A binary, package or model the feature needs is missing."""


class LibraryError(AdcutError):
    """The library folder or its catalog cannot be used."""


class SchemaTooNewError(LibraryError):
    """The catalog was written by a newer adcut; it is refused, never modified."""


class EncoderMismatchError(LibraryError):
    """Embeddings from different encoders would be mixed in one library."""


class OutputError(AdcutError):
    """An output cannot be written where asked (exists, locked, is a source, no space...)."""


class Interrupted(AdcutError):
    """The user stopped the command (Ctrl-C or SIGTERM); `message` says what was kept."""

    exit_code = 130
    prefix = "interrupted"
