"""Logging for the command line: one format, one level, and secrets never written out.

A transport registers each secret it holds (`hide`), and every record that reaches the root
handlers has it masked, whoever logged it: jielong, uvicorn, httpx or wechaty (whose loggers
bring their own handlers; `adopt_private_loggers` routes them through the root instead).
"""

from __future__ import annotations

import logging

LEVELS = ("debug", "info", "warning", "error")
MASK = "***"
_secrets: set[str] = set()


def hide(secret: str | None) -> None:
    """From now on, `secret` is written as *** in every log line."""
    if secret and len(secret) >= 6:  # masking a word like "tok" would garble every line
        _secrets.add(secret)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def configure(level: str = "info") -> None:
    """Log to stderr at `level` (one of LEVELS), with secrets masked."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())


def adopt_private_loggers(quiet_below: int = logging.WARNING) -> None:
    """Send the records of third-party loggers that set up their own handlers (and so bypass
    the mask and the format) through the root handlers. Their chatter below `quiet_below`
    stays silent unless jielong itself logs at debug level."""
    level = logging.DEBUG if logging.getLogger().level <= logging.DEBUG else quiet_below
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers and not logger.propagate:
            logger.handlers = []
            logger.propagate = True
            logger.setLevel(level)
