"""Cursor pagination for the partner API: a cursor that was not made by us is a 400, never a 500."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, status


class InvalidCursor(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This page link is not valid: start again from the first page."
    default_code = "invalid_cursor"


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination; a garbled cursor, or one whose position is not a value of the
    ordering field (base64 of ``p=not-a-date``), answers 400 ``invalid_cursor``.

    Newest first unless ``ordering`` says otherwise; the schema's page links show
    ``example_path`` with example cursors, and its results say ``results_description``.
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    example_path = ""
    example_cursors = ("cD0yMDI2LTExLTIz", "cj0xJnA9MjAyNi0xMS0y")  # next, previous
    link_descriptions = (
        "The next (older) page, or null on the last page.",
        "The previous (newer) page, or null on the first page.",
    )
    results_description = ""

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        url = f"https://loyalty.example.com{self.example_path}?cursor="
        for link, cursor, description in zip(
            ("next", "previous"), self.example_cursors, self.link_descriptions, strict=True
        ):
            properties[link].update(description=description, example=url + cursor)
        if isinstance(properties["results"], dict):  # not the sentinel drf-spectacular passes for examples
            properties["results"]["description"] = self.results_description
        return response

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
