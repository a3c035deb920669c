"""Identity store users as AWS keeps them, beyond moto: UpdateUser's attribute paths and
values, and the enterprise attribute extension (moto ignores Extensions altogether).

- Attribute names are SCIM's, and "Attribute names are case insensitive" (RFC 7643,
  section 2.1): paths and the keys of item objects match in any case (tools send both
  {"Value", "Primary"} and {"value", "primary"}).
- A path names an attribute, a sub-attribute of a single-valued complex one (name.givenName),
  or an attribute of an extension (aws:identitystore:enterprise.department): the model's
  AttributePath pattern. Anything else is refused.
- A multi-valued attribute (emails, addresses, phoneNumbers) is replaced whole: "Complex
  types, such as the `emails` field, don't allow field by field updates, and require that
  the entire sub-object is modified" (hashicorp/terraform-provider-aws,
  internal/service/identitystore/user.go); a path into one is refused.
- "The API doesn't allow empty attribute values. To unset an attribute, set it to null"
  (same file): "" is refused, null removes the attribute.
- Extensions: "aws:identitystore:enterprise is the only supported extension name"
  (identitystore model, CreateUser.Extensions), returned only when the request asks for it
  ("A map of explicitly requested attribute extensions", User.Extensions). Its attributes are
  SCIM's enterprise user (RFC 7643, section 4.3): employeeNumber, costCenter, organization,
  division, department, and manager, a complex attribute whose `value` ABAC reads
  (${path:enterprise.manager.value}). The documentation is silent on anything else, so
  anything else is refused, as are values that are not strings of the model's
  SensitiveStringType.
"""

from __future__ import annotations

from typing import Any

ENTERPRISE = "aws:identitystore:enterprise"
ENTERPRISE_KEYS = ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
# Single-valued attributes: path (lower case) -> the User member.
SCALARS = {
    # UserName too: the User shape has it, and UpdateUser takes any of its attributes.
    "username": "UserName",
    "displayname": "DisplayName",
    "nickname": "NickName",
    "profileurl": "ProfileUrl",
    "usertype": "UserType",
    "title": "Title",
    "preferredlanguage": "PreferredLanguage",
    "locale": "Locale",
    "timezone": "Timezone",
}
NAME_PARTS = ("Formatted", "FamilyName", "GivenName", "MiddleName", "HonorificPrefix", "HonorificSuffix")
# Multi-valued attributes: path (lower case) -> (the User member, its model shapes: list, item).
MULTI_VALUED = {
    "emails": ("Emails", "Emails", "Email"),
    "addresses": ("Addresses", "Addresses", "Address"),
    "phonenumbers": ("PhoneNumbers", "PhoneNumbers", "PhoneNumber"),
}


def _error(message: str) -> Exception:
    from tests.realism import _Error

    return _Error("ValidationException", message)


def _model() -> Any:
    from tests.realism import _service_model

    return _service_model("identitystore")


def check_string(value: Any, where: str, shape_name: str = "SensitiveStringType") -> str:
    """A string attribute value: non-empty and of its model shape (SensitiveStringType, or
    UserName for the user name, which has no spaces)."""
    from provisioner.shapes import string_shape

    if not isinstance(value, str):
        raise _error(f"Value at '{where}' must be a string")
    if value == "":
        raise _error(f"Value at '{where}' must not be empty: send null to remove an attribute")
    shape = string_shape("identitystore", shape_name)
    if not shape.fits(value) or not shape.matches(value):
        raise _error(f"Value '{value}' at '{where}' failed to satisfy constraint: {shape_name}")
    return value


def items(path: str, value: Any) -> list[dict[str, Any]]:
    """A multi-valued attribute's new items, keys as the User member has them."""
    _, list_shape, item_shape = MULTI_VALUED[path.lower()]
    bounds = _model().shape_for(list_shape).metadata
    if not isinstance(value, list) or not value:
        raise _error(f"Value at '{path}' must be a non-empty list of objects, or null to remove it")
    if len(value) > int(bounds.get("max", len(value))):
        raise _error(f"Value at '{path}' has {len(value)} items; at most {bounds.get('max')} allowed")
    members = _model().shape_for(item_shape).members
    by_lower = {name.lower(): name for name in members}
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise _error(f"Value at '{path}' must be a list of objects")
        entry: dict[str, Any] = {}
        for key, sub in item.items():
            name = by_lower.get(key.lower())
            if name is None:
                raise _error(f"Unknown sub-attribute '{key}' of multi-value attribute {path}")
            if members[name].type_name == "boolean":
                if not isinstance(sub, bool):
                    raise _error(f"Value at '{path}.{key}' must be a boolean")
                entry[name] = sub
            elif sub is not None:
                entry[name] = check_string(sub, f"{path}.{key}")
        out.append(entry)
    return out


def enterprise_document(value: Any, where: str = ENTERPRISE) -> dict[str, Any]:
    """An enterprise extension document, validated."""
    if not isinstance(value, dict):
        raise _error(f"Value at '{where}' must be an object")
    out: dict[str, Any] = {}
    for key, sub in value.items():
        out.update(enterprise_attribute(key, sub, f"{where}.{key}"))
    return out


def enterprise_attribute(key: str, value: Any, where: str) -> dict[str, Any]:
    """One enterprise attribute as stored ({} when the value is null)."""
    name = next((k for k in ENTERPRISE_KEYS if k.lower() == key.lower()), None)
    if name is None:
        raise _error(f"Unknown attribute '{key}' of extension {ENTERPRISE}; it has {', '.join(ENTERPRISE_KEYS)}")
    if value is None:
        return {}
    if name != "manager":
        return {name: check_string(value, where)}
    if not isinstance(value, dict) or set(k.lower() for k in value) - {"value", "$ref", "displayname"}:
        raise _error(f'Value at \'{where}\' must be an object such as {{"value": "<manager id>"}}')
    manager = {k: check_string(v, f"{where}.{k}") for k, v in value.items() if v is not None}
    return {name: manager} if manager else {}


def create_extensions(value: Any) -> dict[str, Any]:
    """CreateUser's Extensions, validated: {extension name: document}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error("Extensions must be a map of extension name to document")
    out = {}
    for name, document in value.items():
        if name != ENTERPRISE:
            raise _error(f"Unsupported extension '{name}': {ENTERPRISE} is the only supported extension name")
        if document := enterprise_document(document):
            out[name] = document
    return out


def update(user: Any, extensions: dict[str, Any], operations: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    """The User members to replace and the new extensions after these operations; refuses as
    AWS does. Uniqueness (emails) is the caller's check."""
    changes: dict[str, Any] = {}
    name = dict(user.Name._asdict()) if user.Name else {}
    extension = dict(extensions.get(ENTERPRISE) or {})
    for op in operations:
        path, value = str(op["AttributePath"]), op.get("AttributeValue")
        lower = path.lower()
        head = lower.split(".", 1)[0]
        if lower in SCALARS:
            shape = "UserName" if lower == "username" else "SensitiveStringType"
            changes[SCALARS[lower]] = None if value is None else check_string(value, path, shape)
        elif head == "name" and "." in lower:
            part = next((p for p in NAME_PARTS if p.lower() == lower.split(".", 1)[1]), None)
            if part is None:
                raise _error(f"Unknown sub-attribute in path {path}")
            name[part] = None if value is None else check_string(value, path)
        elif lower in MULTI_VALUED:
            changes[MULTI_VALUED[lower][0]] = None if value is None else items(path, value)
        elif head.split("[", 1)[0] in MULTI_VALUED:
            raise _error(
                f"Unsupported update operation on multi-value attribute {head.split('[', 1)[0]}, please provide "
                "full replacement of Multi-Value attribute types"
            )
        elif lower == ENTERPRISE:
            extension = {} if value is None else enterprise_document(value, path)
        elif lower.startswith(ENTERPRISE + "."):
            rest = path[len(ENTERPRISE) + 1 :]
            key, _, sub = rest.partition(".")
            if sub:  # manager.value
                if key.lower() != "manager" or sub.lower() != "value":
                    raise _error(f"Unknown sub-attribute in path {path}")
                value = None if value is None else {"value": value}
            extension = {k: v for k, v in extension.items() if k.lower() != key.lower()}
            extension.update(enterprise_attribute(key, value, path))
        else:
            raise _error(f"Unsupported attribute path {path}")
    changes["Name"] = name
    return changes, ({ENTERPRISE: extension} if extension else {})


def visible(user: dict[str, Any], extensions: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """A listed or described user as AWS returns it: absent members left out, and the
    extensions the request asked for."""
    out = {k: v for k, v in user.items() if v not in (None, [], {})}
    wanted = set(request.get("Extensions") or [])
    if shown := {name: doc for name, doc in extensions.items() if name in wanted}:
        out["Extensions"] = shown
    return out
