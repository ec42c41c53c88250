"""Every input serializer of the partner API takes numbers and texts strictly (loyalty/partners/fields.py).

DRF's ``IntegerField`` takes ``"10"`` and ``1.0``, its ``CharField`` takes ``12``: an input
serializer that declares one of them fails here, so the strict fields stay the API's default.
"""

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from loyalty.partners.fields import StrictIntegerField, StrictStringMixin


def _api_views(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            view_class = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None)
            if view_class is not None:
                yield route, view_class


LAX = ((serializers.IntegerField, StrictIntegerField), (serializers.CharField, StrictStringMixin))


def _lax_fields(serializer, path=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.BaseSerializer):
            yield from _lax_fields(field, f"{path}{name}.")
        elif any(isinstance(field, drf) and not isinstance(field, strict) for drf, strict in LAX):
            yield f"{path}{name}: {type(field).__name__}"


def test_the_api_has_input_serializers_to_check():
    assert [route for route, view in _api_views() if hasattr(view, "InputSerializer")]


def test_every_api_input_serializer_uses_strict_fields():
    lax = {
        f"{route} {view.__name__}.InputSerializer": list(_lax_fields(view.InputSerializer()))
        for route, view in _api_views()
        if hasattr(view, "InputSerializer")
    }

    assert {where: fields for where, fields in lax.items() if fields} == {}
