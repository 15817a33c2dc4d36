"""Access logs never hold a credential: the token at the end of a phone's server URL and of the links
e-mailed to customers is cut out of every logged path (uvicorn logs each request's path and query)."""

from __future__ import annotations

import logging
import re

SECRET_IN_PATH = re.compile(r"(/osmand|/account/claim|/contact/confirm)/[^/?#\s\"]+")
REDACTED = r"\1/[token]"


class SecretPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(SECRET_IN_PATH.sub(REDACTED, value) if isinstance(value, str) else value
                                for value in record.args)
        elif isinstance(record.msg, str):
            record.msg = SECRET_IN_PATH.sub(REDACTED, record.msg)
        return True


def install() -> None:
    """On uvicorn's access logger, once per process (``create_app`` may run more than once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, SecretPaths) for existing in access.filters):
        access.addFilter(SecretPaths())
