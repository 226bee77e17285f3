"""Integration modules: how an integrator registers itself (its telephony included).

    GET  /api/v5/integration-modules/{code}        -> {"success": true, "integrationModule": {...}}
    POST /api/v5/integration-modules/{code}/edit   form: integrationModule=<json>

`edit` creates or updates (201 when it created, 200 when it updated: the PHP client's mocks show
200, the Go client's 201, and RetailCRM's create-or-edit methods answer 201 for a creation).
Sent top-level fields replace the stored ones; each key of `integrations` replaces its own part,
so a module re-sent with only `telephony` keeps its other integrations. `active: false` switches
the module off, and with it the telephony methods that rely on it.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from switchboard.sandbox.retailcrm.errors import not_found
from switchboard.sandbox.retailcrm.http import Call, api_route, success
from switchboard.sandbox.retailcrm.params import json_parameter
from switchboard.sandbox.retailcrm.store import JsonDict, additional_codes
from switchboard.sandbox.retailcrm.validation import check_module


def integration_module(call: Call) -> Response:
    module = call.store.module(call.path_param("code"))
    if module is None:
        raise not_found()
    return success(integrationModule=module)


def integration_module_edit(call: Call) -> Response:
    code: str = call.path_param("code")
    sent = json_parameter(call.params, "integrationModule")
    module = check_module(code, sent, call.store.module(code))
    created = call.store.save_module(code, module)
    return success(201 if created else 200, info=_edit_info(call, module))


def _edit_info(call: Call, module: JsonDict) -> JsonDict:
    """IntegrationModuleEditInfo: here, the users of `additionalCodes` the account lacks."""
    known = {user.id for user in call.store.user_records()}
    missing = sorted(user_id for user_id in additional_codes(module) if user_id not in known)
    return {"notExistUsersIds": missing} if missing else {}


ROUTES: list[Route] = [
    api_route("/integration-modules/{code}", integration_module, "GET"),
    api_route("/integration-modules/{code}/edit", integration_module_edit, "POST"),
]
