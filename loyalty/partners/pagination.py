"""Cursor pagination for the partner API: a cursor that was not made by us is a 400, never a 500."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, status


class InvalidCursor(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This page link is not valid: start again from the first page."
    default_code = "invalid_cursor"


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination; a garbled cursor, or one whose position is not a value of the
    ordering field (base64 of ``p=not-a-date``), answers 400 ``invalid_cursor``."""

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as error:
            raise InvalidCursor() from error

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except DjangoValidationError as error:  # the position does not fit the ordering field
            raise InvalidCursor() from error
