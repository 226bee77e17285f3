"""The yardstick: a bare FastAPI app whose one endpoint returns a constant JSON list."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

CONSTANT: list[dict[str, Any]] = [
    {"ref_key": f"00000000-0000-0000-0000-{n:012d}", "description": f"Вид ПО {n}"} for n in range(6)
]


@app.get("/constant")
async def constant() -> list[dict[str, Any]]:
    return CONSTANT
