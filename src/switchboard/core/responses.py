"""A JSON response rendered with orjson (for hand-built responses; endpoints with a return type
let FastAPI serialise)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
