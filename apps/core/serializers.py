"""Request bodies that refuse what they do not know.

Every API request serializer derives from ``StrictSerializer``: a body must be a JSON
object, and a key the endpoint does not take is a 400 that names it, rather than being
dropped in silence (a client that sends ``"wiat": 30`` learns of the typo instead of
waiting the default time). The OpenAPI document says the same
(``additionalProperties: false`` on request bodies), so generated clients and fuzzers
know it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.settings import api_settings

# Unknown names quoted back in one message, each cut to this many characters: the
# detail stays readable whatever a client sends.
_NAMES_SHOWN = 10
_NAME_CHARS = 64


def _kind(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _names(keys: list[str]) -> str:
    shown = [key if len(key) <= _NAME_CHARS else key[:_NAME_CHARS] + "..." for key in keys[:_NAMES_SHOWN]]
    more = len(keys) - len(shown)
    return ", ".join(f"`{key}`" for key in shown) + (f" and {more} more" if more else "")


class StrictSerializer(serializers.Serializer):
    """A JSON object holding only this serializer's writable fields.

    Raises ``ValidationError`` (400 ``invalid_input``) for anything else: a body that is
    not an object, or keys that are not fields, all of them named in one message. Nested
    ``StrictSerializer`` fields apply the same rule to their own object.
    """

    def accepted_fields(self) -> list[str]:
        return [
            field.field_name
            for field in self._writable_fields
            if not isinstance(field, serializers.HiddenField) and field.field_name is not None
        ]

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            # The stubs say a field always has a parent; the body's serializer has none.
            where = "The body" if self.parent is None else "This"  # type: ignore[redundant-expr]
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"{where} must be a JSON object, not {_kind(data)}."]},
                code="invalid",
            )
        accepted = self.accepted_fields()
        unknown = [str(key) for key in data if key not in accepted]
        if unknown:
            noun = "field" if len(unknown) == 1 else "fields"
            takes = ", ".join(f"`{name}`" for name in sorted(accepted)) or "no fields"
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [f"Unknown {noun} {_names(unknown)}; this takes {takes}."]},
                code="unknown_field",
            )
        return super().to_internal_value(data)


class JSONBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: DRF's BooleanField would also take "yes", "on" or 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class JSONIntegerField(serializers.IntegerField):
    """A JSON number without a fraction: ``"2"``, ``2.0`` and ``true`` are refused, not
    coerced (a client that sends a string has a bug worth hearing about)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Request bodies of a ``StrictSerializer`` are closed objects in the OpenAPI document."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
