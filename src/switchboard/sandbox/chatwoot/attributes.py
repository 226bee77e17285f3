"""Custom attribute definitions: what the account says its contacts' and conversations' custom
attributes are. Only the filters read them; custom attribute values stay free-form, as in
Chatwoot.

The model's rules, in Chatwoot's order: a display name and a key are required, the key is unique
per account and model, the display type and the model are required, and on create the key must
not be a standard attribute of that model. The two enums take their names or their integers;
anything else is an ArgumentError Chatwoot does not rescue (a 500), and so is a `null` model on
create (the standard-key check calls a method on it).
"""

from __future__ import annotations

import re
from typing import Any

from switchboard.sandbox.chatwoot.contacts import cast_string
from switchboard.sandbox.chatwoot.errors import RecordInvalid, ServerError
from switchboard.sandbox.chatwoot.records import (
    ATTRIBUTE_DISPLAY_TYPES,
    ATTRIBUTE_MODELS,
    CustomAttributeDefinition,
    JsonDict,
    utcnow,
)
from switchboard.sandbox.chatwoot.store import Store

BLANK = "can't be blank"
KEY_CONFLICT = "The provided key is not allowed as it might conflict with default attributes."

# CustomAttributeDefinition::STANDARD_ATTRIBUTES
STANDARD_ATTRIBUTES = {
    "conversation_attribute": (
        "status", "priority", "assignee_id", "inbox_id", "team_id", "display_id", "campaign_id",
        "labels", "browser_language", "country_code", "referer", "created_at", "last_activity_at",
    ),
    "contact_attribute": (
        "name", "email", "phone_number", "identifier", "country_code", "city", "created_at",
        "last_activity_at", "referer", "blocked",
    ),
}  # fmt: skip

STRING_FIELDS = (
    "attribute_display_name",
    "attribute_description",
    "attribute_key",
    "regex_pattern",
    "regex_cue",
)
ENUM_FIELDS = {
    "attribute_model": ATTRIBUTE_MODELS,
    "attribute_display_type": ATTRIBUTE_DISPLAY_TYPES,
}
PERMITTED = (*STRING_FIELDS, *ENUM_FIELDS, "attribute_values")


def permitted_values(source: JsonDict) -> JsonDict:
    """`permit(...)`: scalars for the string and enum columns, an array of scalars for values."""
    values: JsonDict = {}
    for name in PERMITTED:
        if name not in source:
            continue
        value = source[name]
        if name == "attribute_values":
            if isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value):
                values[name] = list(value)
        elif isinstance(value, (list, dict)):
            continue  # not a permitted scalar: dropped
        elif name in ENUM_FIELDS:
            values[name] = enum_name(name, value)
        else:
            values[name] = cast_string(value)
    return values


def enum_name(column: str, value: Any) -> str | None:
    """Rails enum assignment: a name or its integer; blank is nil; the rest raises."""
    mapping = ENUM_FIELDS[column]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value in mapping:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in mapping.items():
            if number == value:
                return name
    raise ServerError(f"'{value}' is not a valid {column}")


def models_from_query(raw: Any) -> set[str] | None:
    """`with_attribute_model(raw)`: None lists every model, else the models `raw` names.

    Rails casts a number-like string ("1", even "1abc") to its integer and anything else to
    NULL, which matches nothing.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw)
    if text in ATTRIBUTE_MODELS:
        return {text}
    number = re.match(r"\s*([+-]?\d+)", text)
    wanted = int(number.group(1)) if number else None
    return {name for name, value in ATTRIBUTE_MODELS.items() if value == wanted}


def create(store: Store, account_id: int, values: JsonDict) -> CustomAttributeDefinition:
    now = utcnow()
    row = CustomAttributeDefinition(
        id=0,
        account_id=account_id,
        attribute_key=None,
        attribute_display_name=None,
        created_at=now,
        updated_at=now,
    )
    _assign(row, values)
    _validate(store, row, creating=True)
    row.id = store.attribute_definitions.next_id()
    return store.attribute_definitions.add(row)


def update(
    store: Store, row: CustomAttributeDefinition, values: JsonDict
) -> CustomAttributeDefinition:
    draft = CustomAttributeDefinition(**vars(row))
    _assign(draft, values)
    _validate(store, draft, creating=False)
    if vars(draft) != vars(row):
        _assign(row, values)
        row.updated_at = utcnow()
    return row


def _assign(row: CustomAttributeDefinition, values: JsonDict) -> None:
    for name, value in values.items():
        setattr(row, name, value)


def _validate(store: Store, row: CustomAttributeDefinition, *, creating: bool) -> None:
    errors: list[tuple[str, str]] = []
    if not _present(row.attribute_display_name):
        errors.append(("attribute_display_name", f"Attribute display name {BLANK}"))
    if not _present(row.attribute_key):
        errors.append(("attribute_key", f"Attribute key {BLANK}"))
    clash = store.attribute_definitions.first(
        lambda other: (
            other.id != row.id
            and other.account_id == row.account_id
            and other.attribute_model == row.attribute_model
            and other.attribute_key == row.attribute_key
        )
    )
    if clash is not None:
        errors.append(("attribute_key", "Attribute key has already been taken"))
    if row.attribute_display_type is None:
        errors.append(("attribute_display_type", f"Attribute display type {BLANK}"))
    if row.attribute_model is None:
        errors.append(("attribute_model", f"Attribute model {BLANK}"))
    if creating:
        if row.attribute_model is None:
            raise ServerError("NoMethodError: undefined method `to_sym' for nil")
        if row.attribute_key in STANDARD_ATTRIBUTES[row.attribute_model]:
            errors.append(("attribute_key", f"Attribute key {KEY_CONFLICT}"))
    if errors:
        raise RecordInvalid(errors)


def _present(value: str | None) -> bool:
    return value is not None and bool(value.strip())
