"""Application API custom attribute definitions (index, show, create, update, destroy).

Chatwoot applies no policy here, so agents manage definitions as administrators do; bot tokens
are refused like everywhere outside the bot actions. The index lists both models unless
`attribute_model` (a name or its number) narrows it. Bodies may nest the fields under
`custom_attribute_definition` or send them at the top level (Rails' JSON param wrapping); a body
with none of them is a 422 ParameterMissing. DELETE answers 204 with no body.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.chatwoot import attributes, views
from switchboard.sandbox.chatwoot.errors import ParameterMissing, found
from switchboard.sandbox.chatwoot.http import Call, json_response, route
from switchboard.sandbox.chatwoot.records import CustomAttributeDefinition, JsonDict

ACCOUNT = "/api/v1/accounts/{account_id}"
DEFINITIONS = ACCOUNT + "/custom_attribute_definitions"
DEFINITION = DEFINITIONS + "/{definition_id}"
ROOT = "custom_attribute_definition"
# The model's columns, which Rails' param wrapper moves under the root key.
WRAPPED = (*attributes.PERMITTED, "default_value", "account_id", "created_at", "updated_at")


def _payload(call: Call) -> JsonDict:
    """`params.require(:custom_attribute_definition).permit(...)`."""
    nested = call.params.get(ROOT)
    if isinstance(nested, dict):
        source = nested
    else:
        path = call.request.path_params
        source = {
            key: call.params[key] for key in WRAPPED if key in call.params and key not in path
        }
    if not source:
        raise ParameterMissing(ROOT)
    return attributes.permitted_values(source)


def _definition(call: Call) -> CustomAttributeDefinition:
    return found(
        call.store.attribute_definition(call.account_id, call.int_param("definition_id")),
        "custom_attribute_definition",
    )


def index(call: Call) -> Response:
    models = attributes.models_from_query(call.params.get("attribute_model"))
    with call.store.locked() as store:
        rows = [
            row
            for row in store.attribute_definitions_of(call.account_id)
            if models is None or row.attribute_model in models
        ]
        return json_response([views.custom_attribute_definition(row) for row in rows])


def show(call: Call) -> Response:
    with call.store.locked():
        return json_response(views.custom_attribute_definition(_definition(call)))


def create(call: Call) -> Response:
    values = _payload(call)
    with call.engine.operation(call.actor) as op:
        row = attributes.create(op.store, call.account_id, values)
        return json_response(views.custom_attribute_definition(row))


def update(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        row = _definition(call)
        row = attributes.update(op.store, row, _payload(call))
        return json_response(views.custom_attribute_definition(row))


def destroy(call: Call) -> Response:
    with call.engine.operation(call.actor) as op:
        op.store.attribute_definitions.remove(_definition(call).id)
    return Response(status_code=204)


ROUTES: list[Route] = [
    route("application", DEFINITIONS, index, ["GET"]),
    route("application", DEFINITIONS, create, ["POST"]),
    route("application", DEFINITION, show, ["GET"]),
    route("application", DEFINITION, update, ["PATCH", "PUT"]),
    route("application", DEFINITION, destroy, ["DELETE"]),
]
