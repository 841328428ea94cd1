"""Logging filters named in settings.LOGGING."""

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """Log a 403 as one line.

    Django logs every refused request with the PermissionDenied traceback;
    that is the permission check working, not an error, and the tracebacks
    buried the real ones in the server log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
