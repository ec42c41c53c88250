"""Strict serializer fields: the partner API's default for every number and text in a body.

DRF's own fields coerce: ``IntegerField`` takes ``1.0``, ``1e3``, ``"10"`` and ``" 7 "``,
``CharField`` takes ``12``. A partner that sends the wrong type has a bug we should tell it
about, not guess around: these take JSON integers only (not booleans) and JSON strings only.
Input serializers of the API use them instead of DRF's (``tests/security/test_strict_fields.py``
fails on a plain ``IntegerField`` or ``CharField`` in an API input serializer).
"""

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictStringMixin:
    default_error_messages = {"not_a_string": "A JSON string is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictEmailField(StrictStringMixin, serializers.EmailField):
    pass


class StrictRegexField(StrictStringMixin, serializers.RegexField):
    pass
