"""One exception type for every export failure a user can fix, so the CLI prints one line."""


class ExportError(RuntimeError):
    """A clear, user-facing reason why the export cannot go on."""
