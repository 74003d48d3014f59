from adcut.core.errors import (
    AdcutError,
    BadInputError,
    DependencyError,
    EncoderMismatchError,
    LibraryError,
    MediaError,
    SchemaTooNewError,
)

__all__ = [
    "AdcutError",
    "BadInputError",
    "DependencyError",
    "EncoderMismatchError",
    "LibraryError",
    "MediaError",
    "SchemaTooNewError",
]
