"""Request bodies for the partner API (its own module: DRF imports it while defining its views).

- ``LimitedJSONParser``: JSON bodies of at most ``API_MAX_BODY_BYTES`` and ``API_MAX_JSON_DEPTH``
  levels of nesting (a deeper body is a 400, never Python's ``RecursionError``);
- ``ChunkedBodyMiddleware``: a body sent with ``Transfer-Encoding: chunked`` (no
  ``Content-Length``) is read, up to Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, when the server
  has decoded the chunks (gunicorn does); otherwise it is refused with 411, never read as empty.
"""

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, JsonResponse
from rest_framework import exceptions, parsers, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class LimitedJSONParser(parsers.JSONParser):
    """JSON bodies of at most ``API_MAX_BODY_BYTES``, whatever Content-Length claims, nested at most
    ``API_MAX_JSON_DEPTH`` levels deep."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(too_large_message(limit))
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(too_large_message(limit))
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            data = None
        if data is None or _depth_exceeds(data, settings.API_MAX_JSON_DEPTH):
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {settings.API_MAX_JSON_DEPTH} levels deep."
            )
        return data


def _depth_exceeds(data, limit: int) -> bool:
    """Whether ``data`` nests lists and objects more than ``limit`` levels deep (without recursion)."""
    level = [data]
    depth = 0
    while level:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return False
        depth += 1
        if depth > limit:
            return True
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return False


class ChunkedBodyMiddleware:
    """Read a chunked request body instead of seeing it as empty.

    Django reads ``Content-Length`` bytes of ``wsgi.input``, so a chunked body is read as
    nothing. A server that decodes the chunks and ends the stream with the body says so with
    ``wsgi.input_terminated`` (gunicorn, mod_wsgi): the body is read from it up to
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (over it: 413) and handed on with its length, so the API's own
    limit applies to it as to any other. Any other server (Django's runserver) cannot give the
    body: the request is refused with 411 and nothing is done.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            refused = self._read_chunked(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _read_chunked(self, request):
        environ = getattr(request, "environ", {})
        if not environ.get("wsgi.input_terminated"):
            return _error(
                request,
                status.HTTP_411_LENGTH_REQUIRED,
                "length_required",
                "This server cannot read a chunked request body: send Content-Length.",
            )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = environ["wsgi.input"].read(limit + 1 if limit is not None else -1)
        if limit is not None and len(body) > limit:
            message = too_large_message(limit)
            return _error(request, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "payload_too_large", message)
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None


def _error(request, status_code: int, code: str, message: str):
    if request.path_info.startswith("/api/"):
        body = {"error": {"code": code, "message": message, "fields": {}}}
        return JsonResponse(body, status=status_code, json_dumps_params={"separators": (",", ":")})
    return HttpResponse(message, status=status_code, content_type="text/plain; charset=utf-8")
