"""`/api/managers/*` as the booking page and operators use them, bad input included."""

from __future__ import annotations

from datetime import time
from typing import Any

import httpx
import pytest

from switchboard.consultations.models import ManagerMapping
from switchboard.runtime import Runtime
from tests.consultations.managers.factories import (
    category,
    closing,
    key,
    manager,
    queued,
    skills,
    store,
)
from tests.consultations.managers.test_wait_time import _finished


@pytest.fixture
async def api(runtime: Runtime, client_factory: Any) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await client_factory(runtime)
    return client


async def _team(runtime: Runtime) -> None:
    """Four consultants around the clock (hours make no difference here) and one retired."""
    from switchboard.core.db.base import utcnow

    taxes = category("Налоги", "ru")
    today = utcnow().astimezone(runtime_zone(runtime)).date()
    await store(
        runtime,
        taxes,
        manager("Анна", limit=10, ru=True, uz=True, department="ИТС консультанты"),
        manager("Борис", limit=4, ru=True),
        manager("Вера", limit=2, ru=True),
        manager("Глеб", limit=5, ru=True, chatwoot_user_id=7),
        manager("Ушедший", limit=5, deletion_mark=True),
        ManagerMapping(chatwoot_user_id=70, cl_manager_key=key("Глеб")),
        skills("Борис", [taxes.ref_key]),
        skills("Вера", [key("category:other")]),
        queued("Анна", 4),
        queued("Борис", 1),
        queued("Вера", 2),  # full
        closing("Глеб", today),
        _finished("Анна", 5),
    )


def runtime_zone(runtime: Runtime) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(runtime.settings.onec_timezone)


async def test_load_lists_active_consultants_least_loaded_first(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await _team(runtime)
    response = await api.get("/api/managers/load")
    assert response.status_code == 200
    body = response.json()
    assert [m["name"] for m in body] == ["Глеб", "Борис", "Анна", "Вера"]
    anna = body[2]
    assert anna == {
        "manager_key": str(key("Анна")),
        "name": "Анна",
        "department": "ИТС консультанты",
        "queue_count": 4,
        "con_limit": 10,
        "load_percent": 40.0,
        "available_slots": 6,
        "start_hour": None,
        "end_hour": None,
        "languages": ["ru", "uz"],
        "working_now": True,
        "queue_closed_today": False,
        "accepting": True,
    }
    gleb, vera = body[0], body[3]
    assert (gleb["queue_closed_today"], gleb["accepting"]) == (True, False)
    assert (vera["available_slots"], vera["load_percent"], vera["accepting"]) == (0, 100.0, False)


async def test_load_of_one_manager_even_a_retired_one(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await _team(runtime)
    await store(runtime, manager("Ночной", hours=(20, 2)))
    boris = (await api.get(f"/api/managers/{key('Борис')}/load")).json()
    assert (boris["queue_count"], boris["con_limit"], boris["load_percent"]) == (1, 4, 25.0)
    retired = (await api.get(f"/api/managers/{key('Ушедший')}/load")).json()
    assert retired["accepting"] is False
    night = (await api.get(f"/api/managers/{key('Ночной')}/load")).json()
    assert (night["start_hour"], night["end_hour"]) == (str(time(20)), str(time(2)))


async def test_available_follows_the_selection_rules(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await _team(runtime)
    everyone = (await api.get("/api/managers/available")).json()
    # Вера is full, Глеб's queue is closed today, the retired one is out.
    assert [m["name"] for m in everyone] == ["Борис", "Анна"]
    anna = everyone[1]
    assert (anna["queue_count"], anna["available_slots"], anna["load_percent"]) == (4, 6, 40.0)
    # Анна closes in 5 minutes on average: four ahead of a new booking → 20 to 60 minutes.
    assert anna["wait"] == {
        "queue_position": 5,
        "average_duration_minutes": 5,
        "estimated_wait_minutes_min": 20,
        "estimated_wait_minutes_max": 60,
        "estimated_wait_minutes": 60,
        "estimated_wait_hours": 1,
        "show_range": True,
        "text": "от 20 до 60 минут",
    }
    uzbek = await api.get(
        "/api/managers/available", params={"language": "uz"}, headers={"Accept-Language": "uz"}
    )
    assert [m["name"] for m in uzbek.json()] == ["Анна"]
    assert uzbek.json()[0]["wait"]["text"] == "20 daqiqadan 60 daqiqagacha"
    taxes = await api.get(
        "/api/managers/available",
        params={
            "category_key": str(key("category:Налоги")),
            "po_type_key": str(key("po")),
            "po_section_key": str(key("section")),
        },
    )
    # Борис has the skill, Анна has none (universal); Вера's skill is another category.
    assert [m["name"] for m in taxes.json()] == ["Борис", "Анна"]


async def test_wait_time_of_a_new_booking_with_a_manager(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await _team(runtime)
    response = await api.get(f"/api/managers/{key('Борис')}/wait-time")
    assert response.status_code == 200
    body = response.json()
    assert (body["manager_key"], body["queue_count"]) == (str(key("Борис")), 1)
    assert body["wait"]["queue_position"] == 2
    assert body["wait"]["estimated_wait_minutes"] == 15
    assert body["wait"]["text"] == "15 минут"


async def test_queue_info_of_a_consultation(runtime: Runtime, api: httpx.AsyncClient) -> None:
    rows = queued("Анна", 3)
    await store(runtime, manager("Анна"), rows)
    response = await api.get(f"/api/managers/consultations/{rows[1].cons_id}/queue-info")
    assert response.status_code == 200
    body = response.json()
    assert body["manager_name"] == "Анна"
    assert (body["in_queue"], body["queue_position"], body["queue_count"]) == (True, 2, 3)
    assert body["wait"]["estimated_wait_minutes"] == 15


async def test_unknown_ids_answer_404_in_russian(runtime: Runtime, api: httpx.AsyncClient) -> None:
    nobody = key("nobody")
    for path in (f"/api/managers/{nobody}/load", f"/api/managers/{nobody}/wait-time"):
        response = await api.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": "manager_not_found",
            "message": f"Менеджер {nobody} не найден.",
        }
    response = await api.get("/api/managers/consultations/no-such-id/queue-info")
    assert response.status_code == 404
    assert response.json()["message"] == "Консультация no-such-id не найдена."


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/managers/not-a-guid/load", "manager_key"),
        ("/api/managers/123/wait-time", "manager_key"),
        ("/api/managers/available?category_key=abc", "category_key"),
        ("/api/managers/available?po_section_key=1", "po_section_key"),
        ("/api/managers/available?language=en", "language"),
        ("/api/managers/consultations/" + "x" * 65 + "/queue-info", "cons_id"),
    ],
)
async def test_malformed_input_is_a_422_naming_the_field(
    api: httpx.AsyncClient, path: str, field: str
) -> None:
    response = await api.get(path)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [d["field"] for d in body["details"]] == [field]


async def test_unknown_filters_are_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/managers/available", params={"category": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_filter"


async def test_front_credentials_are_required_when_configured(
    runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await runtime_factory(FRONT_SECRET="s3cret")
    anonymous = await client_factory(runtime)
    assert (await anonymous.get("/api/managers/load")).status_code == 401
    allowed = await client_factory(runtime, **{"X-Front-Secret": "s3cret"})
    assert (await allowed.get("/api/managers/load")).status_code == 200
