"""The project's error type: a user mistake (file, key or value at fault), reported without a traceback."""


class NeckSearchError(ValueError):
    """Bad input that the user can fix; the message names the file, key or value at fault."""
