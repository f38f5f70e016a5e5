"""Errors the CLI turns into a one-line message and an exit status."""


class AptstackError(Exception):
    """A failure while doing the work; exit status 1."""

    exit_status = 1


class UsageError(AptstackError):
    """Bad input or an unusable host, found before anything changed; exit status 2."""

    exit_status = 2
