"""User-facing errors.

Anything the user can fix (a recipe, a data file, a path, an adapter) raises a subclass of
:class:`PeftgovError`. The CLI prints its one-line message and exits with code 2; only
``--debug`` shows a traceback. Bugs in peftgov itself stay ordinary exceptions.
"""

from __future__ import annotations


class PeftgovError(Exception):
    """A problem with the user's input, reported as one line with exit code 2."""

    exit_code = 2


class RecipeError(PeftgovError):
    """A recipe key is unknown, mistyped, impossible, or names a missing file."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source, self.key = source, key
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


class DataError(PeftgovError):
    """A data file is missing, unreadable, or has a bad row (named by file and line)."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path, self.line = path, line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class ArtifactError(PeftgovError):
    """A run directory or adapter is missing, corrupted, or belongs to another backbone."""
