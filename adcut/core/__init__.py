from adcut.core.errors import (
    AdcutError,
    BadInputError,
    DependencyError,
    EncoderMismatchError,
    Interrupted,
    LibraryError,
    MediaError,
    OutputError,
    SchemaTooNewError,
)

__all__ = [
    "AdcutError",
    "BadInputError",
    "DependencyError",
    "EncoderMismatchError",
    "Interrupted",
    "LibraryError",
    "MediaError",
    "OutputError",
    "SchemaTooNewError",
]
