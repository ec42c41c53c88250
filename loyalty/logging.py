"""Structured logs: one JSON object a line, each carrying the request id (loyalty/request_id.py).

Importing this module makes every log record carry ``request_id`` (the id of the request
or task that is running, else None), whoever formats it: the formatters below, pytest's
``caplog``, a text format with ``%(request_id)s``. ``settings.LOGGING`` uses
``JsonFormatter`` unless ``LOG_FORMAT=text``; gunicorn.conf.py uses it for gunicorn's own logs,
and its access log lines become fields (method, path, status, duration...).
"""

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from loyalty import request_id

# What every LogRecord has: anything else on a record was passed as ``extra=`` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}
_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id.current.get()
    return record


if not getattr(_base_factory, "adds_request_id", False):
    _record_with_request_id.adds_request_id = True
    logging.setLogRecordFactory(_record_with_request_id)

# gunicorn's access-log atoms (glogging.Logger.atoms) kept as fields of the line.
_ACCESS_FIELDS = {
    "h": "remote_addr",
    "m": "method",
    "U": "path",
    "q": "query",
    "H": "protocol",
    "s": "status",
    "B": "bytes",
    "f": "referer",
    "a": "user_agent",
}


_MISSING = (None, "-", "")


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, request_id, then any ``extra=`` fields and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            line.update(self._access(record.args))
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)

    @staticmethod
    def _access(atoms: Mapping) -> dict:
        fields = {name: atoms.get(atom) for atom, name in _ACCESS_FIELDS.items() if atoms.get(atom) not in _MISSING}
        if "status" in fields:
            fields["status"] = int(fields["status"])
        if "bytes" in fields:
            fields["bytes"] = int(fields["bytes"])
        if atoms.get("D") not in (None, "-"):
            fields["duration_ms"] = round(int(atoms["D"]) / 1000, 1)
        fields["request_id"] = request_id.sane(atoms.get("{x-request-id}o"))
        return fields
