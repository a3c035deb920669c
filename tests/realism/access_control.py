"""The instance's access control attributes (ABAC), which moto does not implement.

- One configuration per instance. Describe without one answers ResourceNotFoundException, as
  the Terraform provider reads it (hashicorp/terraform-provider-aws,
  internal/service/ssoadmin/instance_access_control_attributes.go treats it as gone); so do
  Update and Delete.
- Create answers at once, but the configuration is CREATION_IN_PROGRESS until AWS is done
  ("After a successful response, call DescribeInstanceAccessControlAttributeConfiguration to
  validate that InstanceAccessControlAttributeConfiguration was created": API reference),
  then ENABLED or CREATION_FAILED with a StatusReason (the model's status enum).
- A second Create, and a write while the creation is in progress, answer ConflictException:
  the model lists it, and "this generally occurs when the previous write did not have time to
  propagate" (ConflictException). The docs are silent on a second Create: modelled harshly.
- Keys are unique in a configuration; each key has exactly one source (the model's
  AccessControlAttributeValueSourceList, checked with every other bound by the layer).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

IN_PROGRESS, ENABLED, FAILED = "CREATION_IN_PROGRESS", "ENABLED", "CREATION_FAILED"


@dataclass
class Configuration:
    attributes: list[dict[str, Any]]
    request: Any  # a realism Request: when the creation started, how often it was looked at
    failure: str | None = None


def _layer() -> Any:
    import tests.realism as layer

    return layer


def _instance(resp: Any) -> str:
    layer = _layer()
    arn = str(layer._params(resp)["InstanceArn"])
    if not any(i.instance_arn == arn for i in layer._sso_backend(resp).instances):
        raise layer._Error("ResourceNotFoundException", f"Instance {arn} not found")
    return arn


def _configured(resp: Any) -> tuple[str, Configuration]:
    layer = _layer()
    arn = _instance(resp)
    found = layer.STATE.access_control.get(arn)
    if found is None:
        raise layer._Error("ResourceNotFoundException", "No access control attribute configuration for the instance")
    return arn, found


def _status(found: Configuration) -> str:
    layer = _layer()
    if found.request.status == "IN_PROGRESS" and layer._done(found.request):
        fail = layer.STATE.settings.fail_access_control
        found.failure = fail(found.attributes) if fail else None
        found.request.status = FAILED if found.failure else ENABLED
    return IN_PROGRESS if found.request.status == "IN_PROGRESS" else str(found.request.status)


def _attributes(resp: Any) -> list[dict[str, Any]]:
    layer = _layer()
    params = layer._params(resp)
    attributes = list(params["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"])
    keys = [a["Key"] for a in attributes]
    if len(set(keys)) != len(keys):
        raise layer._Error("ValidationException", "Duplicate access control attribute keys")
    return attributes


def _not_in_progress(found: Configuration) -> None:
    if _status(found) == IN_PROGRESS:
        raise _layer()._Error("ConflictException", "The access control attribute configuration is being created")


def create(resp: Any) -> str:
    layer = _layer()
    arn = _instance(resp)
    if arn in layer.STATE.access_control:
        raise layer._Error("ConflictException", "An access control attribute configuration already exists")
    request = layer.Request(
        "access-control", str(uuid.uuid4()), {}, layer.STATE.settings.clock(), layer.Origin.of(resp)
    )
    found = Configuration(_attributes(resp), request)
    layer.STATE.access_control[arn] = found
    if not layer._async():
        _status(found)
    return "{}"


def describe(resp: Any) -> str:
    _, found = _configured(resp)
    body: dict[str, Any] = {
        "Status": _status(found),
        "InstanceAccessControlAttributeConfiguration": {"AccessControlAttributes": found.attributes},
    }
    if found.failure:
        body["StatusReason"] = found.failure
    return json.dumps(body)


def update(resp: Any) -> str:
    _, found = _configured(resp)
    _not_in_progress(found)
    found.attributes = _attributes(resp)
    return "{}"


def delete(resp: Any) -> str:
    arn, found = _configured(resp)
    _not_in_progress(found)
    del _layer().STATE.access_control[arn]
    return "{}"


OPERATIONS = {
    "create_instance_access_control_attribute_configuration": create,
    "describe_instance_access_control_attribute_configuration": describe,
    "update_instance_access_control_attribute_configuration": update,
    "delete_instance_access_control_attribute_configuration": delete,
}
