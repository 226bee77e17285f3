"""What a client does with a booked consultation: read it, change it, cancel it, move it, rate it,
see the calls and the history; each change reaches 1C and Chatwoot through the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from switchboard.consultations.models import Call
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningChatwoot, RunningOneC
from tests.consultations.booking.support import (
    accounting,
    add_manager,
    book,
    conversations,
    documents,
    in_days,
    messages,
    outbox,
    owner,
    row,
    settings,
    settle,
    statuses,
    tech,
    utc,
)

REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"


async def _booked(
    runtime_factory: Any,
    client_factory: Any,
    onec: RunningOneC,
    chatwoot: RunningChatwoot,
    consultation: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[Runtime, httpx.AsyncClient, dict[str, Any], uuid.UUID]:
    """A runtime, its client and one accounting consultation booked and synced everywhere."""
    runtime: Runtime = await runtime_factory(**settings(onec, chatwoot, **extra))
    client = await client_factory(runtime)
    manager_key, _ = await add_manager(runtime, chatwoot, "Алишер Каримов")
    response = await book(
        client,
        {"client": owner(), "consultation": consultation or accounting(start_date=in_days(1))},
    )
    assert response.status_code == 201, response.text
    await settle(runtime)
    return runtime, client, response.json(), manager_key


async def _age(runtime: Runtime, cons_id: str, minutes: int) -> None:
    """The consultation was booked `minutes` ago."""
    ago = {"m": minutes, "id": cons_id}
    async with runtime.database.transaction() as session:
        await session.execute(
            text(
                "UPDATE cons.cons SET create_date = now() - make_interval(mins => :m) "
                "WHERE cons_id = :id"
            ),
            ago,
        )
        await session.execute(
            text(
                "UPDATE cons.status_history SET changed_at = now() - make_interval(mins => :m) "
                "WHERE cons_id = :id AND old_status IS NULL"
            ),
            ago,
        )


async def test_get_shows_the_consultation_and_unknown_or_malformed_ids_are_refused(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    _, client, booked, manager_key = await _booked(runtime_factory, client_factory, onec, chatwoot)

    found = await client.get(f"/api/consultations/{booked['cons_id']}")
    missing = await client.get(f"/api/consultations/{uuid.uuid4()}")
    malformed = await client.get("/api/consultations/not-an-id")

    assert found.status_code == 200
    body = found.json()
    assert body["manager_name"] == "Алишер Каримов"
    assert body["manager_key"] == str(manager_key)
    assert body["chatwoot_source_id"] == booked["chatwoot_source_id"]
    assert body["number"] == booked["number"]
    assert missing.status_code == 404
    assert missing.json()["error"] == "consultation_not_found"
    assert malformed.status_code == 422


async def test_cancel_within_the_window_reaches_1c_and_chatwoot_and_only_once(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, _ = await _booked(runtime_factory, client_factory, onec, chatwoot)
    cons_id = booked["cons_id"]

    cancelled = await client.post(f"/api/consultations/{cons_id}/cancel")
    again = await client.post(f"/api/consultations/{cons_id}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["denied"] is True
    assert cancelled.json()["end_date"] is not None
    assert again.status_code == 409
    assert again.json()["error"] == "already_cancelled"
    await settle(runtime)
    assert documents(onec) == []  # marked deleted: the day's place is free again
    [deleted] = onec.emulator.store.records("Document_ТелефонныйЗвонок")
    assert deleted["DeletionMark"] is True
    [conversation] = conversations(chatwoot)
    assert conversation.status == "resolved"
    assert (conversation.custom_attributes or {})["closed_without_con"] is True
    assert messages(chatwoot, conversation)[-1] == "Заявка аннулирована клиентом."
    assert await statuses(runtime, cons_id) == [
        (None, "pending", "booking"),
        ("pending", "cancelled", "api"),
    ]


async def test_cancel_after_the_window_or_of_a_finished_consultation_is_refused(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, _ = await _booked(runtime_factory, client_factory, onec, chatwoot)
    cons_id = booked["cons_id"]
    await _age(runtime, cons_id, 91)

    late = await client.post(f"/api/consultations/{cons_id}/cancel")

    assert late.status_code == 409
    assert late.json()["error"] == "cancel_window_passed"
    assert "90" in late.json()["message"]
    await _age(runtime, cons_id, 5)
    closed = await client.put(f"/api/consultations/{cons_id}", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    finished = await client.post(f"/api/consultations/{cons_id}/cancel")
    assert finished.status_code == 409
    assert finished.json()["error"] == "consultation_finished"
    stored = await row(runtime, cons_id)
    assert stored is not None
    assert stored.status == "closed"
    assert stored.denied is False


async def test_put_changes_the_row_and_queues_1c_and_chatwoot(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, _ = await _booked(runtime_factory, client_factory, onec, chatwoot)
    cons_id = booked["cons_id"]
    moved_to = in_days(2, hour=15)

    changed = await client.put(
        f"/api/consultations/{cons_id}",
        json={"status": "resolved", "start_date": moved_to, "topic": "Выписка", "importance": 3},
    )
    bad_status = await client.put(f"/api/consultations/{cons_id}", json={"status": "done"})
    cancel_by_put = await client.put(f"/api/consultations/{cons_id}", json={"status": "cancelled"})
    too_far = await client.put(f"/api/consultations/{cons_id}", json={"start_date": in_days(60)})
    end_first = await client.put(
        f"/api/consultations/{cons_id}", json={"end_date": in_days(1, hour=1)}
    )

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["status"] == "resolved"
    assert body["end_date"] is not None
    assert utc(body["start_date"]) == utc(moved_to)
    assert (body["topic"], body["importance"]) == ("Выписка", 3)
    assert bad_status.status_code == 422
    assert cancel_by_put.status_code == 409
    assert too_far.status_code == 400
    assert end_first.status_code == 422
    await settle(runtime)
    [document] = onec.emulator.store.records("Document_ТелефонныйЗвонок")
    assert document["ВидОбращения"] == "КонсультацияИТС"
    assert document["Конец"] not in (None, "0001-01-01T00:00:00")
    [conversation] = conversations(chatwoot)
    assert conversation.status == "resolved"


async def test_a_redate_is_checked_stored_sent_to_1c_and_told_to_the_client(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, manager_key = await _booked(
        runtime_factory, client_factory, onec, chatwoot
    )
    cons_id = booked["cons_id"]
    new_date = in_days(3, hour=10)

    moved = await client.post(
        f"/api/consultations/{cons_id}/redates",
        json={"new_date": new_date, "comment": "Клиент занят"},
    )
    front = await client.post(
        f"/api/consultations/{cons_id}/redates", json={"new_date": new_date, "manager_key": "FRONT"}
    )
    past = await client.post(
        f"/api/consultations/{cons_id}/redates", json={"new_date": in_days(-2)}
    )
    unknown_manager = await client.post(
        f"/api/consultations/{cons_id}/redates",
        json={"new_date": new_date, "manager_key": str(uuid.uuid4())},
    )

    assert moved.status_code == 201, moved.text
    redate = moved.json()
    assert utc(redate["new_date"]) == utc(new_date)
    assert utc(redate["old_date"]) == utc(booked["start_date"])
    assert redate["manager_key"] == str(manager_key)
    assert front.status_code == 422
    assert [d["field"] for d in front.json()["details"]] == ["manager_key"]
    assert past.status_code == 400
    assert unknown_manager.status_code == 422
    listed = (await client.get(f"/api/consultations/{cons_id}/redates")).json()
    assert [r["id"] for r in listed] == [redate["id"]]
    stored = await row(runtime, cons_id)
    assert stored is not None
    assert stored.start_date == utc(new_date)

    await settle(runtime)
    [record] = onec.emulator.store.records(REDATES)
    assert record["ДокументОбращения_Key"] == booked["cl_ref_key"]
    assert record["Менеджер_Key"] == str(manager_key)
    [document] = documents(onec)
    assert document["ДатаКонсультации"].startswith(new_date[:13])  # 1C's local wall clock
    [conversation] = conversations(chatwoot)
    last = messages(chatwoot, conversation)[-1]
    assert "Консультация перенесена" in last
    assert "Клиент занят" in last


async def test_a_redate_of_a_tech_request_or_onto_a_full_day_is_refused(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    _, client, booked, _ = await _booked(runtime_factory, client_factory, onec, chatwoot)
    subscriber = {"client": owner(), "consultation": tech()}
    tech_booking = (await book(client, subscriber)).json()
    full_day = in_days(5, hour=9)
    same_owner = await client.get(f"/api/consultations/{booked['cons_id']}")
    client_id = same_owner.json()["client_id"]
    for hour in (9, 11, 13):
        done = await client.post(
            "/api/consultations/simple",
            json={"client_id": client_id, **accounting(start_date=in_days(5, hour=hour))},
        )
        assert done.status_code == 201, done.text

    tech_redate = await client.post(
        f"/api/consultations/{tech_booking['cons_id']}/redates", json={"new_date": in_days(2)}
    )
    onto_full_day = await client.post(
        f"/api/consultations/{booked['cons_id']}/redates", json={"new_date": full_day}
    )

    assert tech_redate.status_code == 409
    assert tech_redate.json()["error"] == "not_in_onec"
    assert onto_full_day.status_code == 429


async def test_ratings_are_checked_upserted_averaged_and_sent_to_1c(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, manager_key = await _booked(
        runtime_factory, client_factory, onec, chatwoot
    )
    cons_id = booked["cons_id"]
    url = f"/api/consultations/{cons_id}/ratings"

    first = await client.post(
        url,
        json={
            "answers": [{"question_number": 1, "rating": 4}, {"question_number": 2, "rating": 5}]
        },
    )
    replaced = await client.post(url, json={"answers": [{"question_number": 1, "rating": 2}]})
    out_of_range = await client.post(url, json={"answers": [{"question_number": 1, "rating": 6}]})
    zero_question = await client.post(url, json={"answers": [{"question_number": 0, "rating": 3}]})
    empty = await client.post(url, json={"answers": []})

    assert first.status_code == 200, first.text
    assert first.json()["average"] == 4.5
    assert replaced.json()["average"] == 3.5
    assert replaced.json()["count"] == 2
    for refused in (out_of_range, zero_question, empty):
        assert refused.status_code == 422
    summary = (await client.get(url)).json()
    assert [(a["question_number"], a["rating"]) for a in summary["answers"]] == [(1, 2), (2, 5)]
    assert all(a["manager_key"] == str(manager_key) for a in summary["answers"])
    assert all(a["rating_date"] is not None for a in summary["answers"])

    await settle(runtime)
    records = onec.emulator.store.records(RATINGS)
    assert sorted((r["НомерВопроса"], r["Оценка"]) for r in records) >= [(1, 2), (2, 5)]
    assert {r["Менеджер_Key"] for r in records} == {str(manager_key)}
    async with runtime.database.transaction() as session:
        sent = (
            await session.execute(
                text("SELECT bool_and(sent_to_base) FROM cons.cons_rating_answers")
            )
        ).scalar()
    assert sent is True
    [conversation] = conversations(chatwoot)
    assert any("Средняя оценка" in m for m in messages(chatwoot, conversation))


async def test_calls_are_paged_newest_first_and_filtered(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, manager_key = await _booked(
        runtime_factory, client_factory, onec, chatwoot
    )
    other, _ = await add_manager(runtime, None, "Дилноза")
    cons_key = uuid.UUID(booked["cl_ref_key"])
    start = datetime(2026, 1, 10, 5, 0, tzinfo=UTC)
    async with runtime.database.transaction() as session:
        session.add_all(
            Call(
                period=start + timedelta(minutes=n),
                cons_key=cons_key,
                manager=manager_key if n % 2 else other,
            )
            for n in range(5)
        )
    url = f"/api/consultations/{booked['cons_id']}/calls"

    everything = (await client.get(url)).json()
    page = (await client.get(url, params={"skip": 1, "limit": 2})).json()
    of_one = (await client.get(url, params={"manager_key": str(other)})).json()
    window = (
        await client.get(
            url,
            params={
                "date_from": (start + timedelta(minutes=1)).isoformat(),
                "date_to": (start + timedelta(minutes=3)).isoformat(),
            },
        )
    ).json()
    too_many = await client.get(url, params={"limit": 1001})
    unknown = await client.get(url, params={"since": "yesterday"})

    periods = [utc(call["period"]) for call in everything]
    assert periods == sorted(periods, reverse=True)
    assert len(everything) == 5
    assert [utc(c["period"]) for c in page] == periods[1:3]
    assert {c["manager_name"] for c in of_one} == {"Дилноза"}
    assert len(of_one) == 3
    assert len(window) == 3
    assert too_many.status_code == 422
    assert unknown.status_code == 400


async def test_history_merges_statuses_redates_ratings_and_calls_in_time_order(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, manager_key = await _booked(
        runtime_factory, client_factory, onec, chatwoot
    )
    cons_id = booked["cons_id"]
    cons_key = uuid.UUID(booked["cl_ref_key"])
    await _age(runtime, cons_id, 1)
    async with runtime.database.transaction() as session:
        session.add(
            Call(
                period=datetime.now(UTC) + timedelta(seconds=1),
                cons_key=cons_key,
                manager=manager_key,
            )
        )
    await client.post(f"/api/consultations/{cons_id}/redates", json={"new_date": in_days(2)})
    await client.post(
        f"/api/consultations/{cons_id}/ratings",
        json={"answers": [{"question_number": 1, "rating": 5}]},
    )
    await client.put(f"/api/consultations/{cons_id}", json={"status": "closed"})

    history = (await client.get(f"/api/consultations/{cons_id}/history")).json()

    kinds = [event["kind"] for event in history["events"]]
    assert sorted(kinds) == ["call", "rating", "redate", "status", "status"]
    moments = [event["at"] for event in history["events"]]
    assert [utc(m) for m in moments] == sorted(utc(m) for m in moments)
    assert history["events"][0]["details"] == {
        "old_status": None,
        "new_status": "pending",
        "source": "booking",
    }
    missing = await client.get(f"/api/consultations/{uuid.uuid4()}/history")
    assert missing.status_code == 404


async def test_a_clients_consultations_are_paged_with_manager_names(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    _, client, booked, _ = await _booked(runtime_factory, client_factory, onec, chatwoot)
    client_id = booked["client_id"]
    second = await client.post("/api/consultations/simple", json={"client_id": client_id, **tech()})
    assert second.status_code == 201, second.text
    url = f"/api/consultations/clients/{client_id}/consultations"

    page = (await client.get(url, params={"limit": 1})).json()
    everything = (await client.get(url)).json()
    unknown = await client.get(f"/api/consultations/clients/{uuid.uuid4()}/consultations")
    too_big = await client.get(url, params={"limit": 5000})

    assert page["total"] == 2
    assert len(page["items"]) == 1
    assert page["items"][0]["cons_id"] == second.json()["cons_id"]  # newest first
    assert [item["manager_name"] for item in everything["items"]] == [None, "Алишер Каримов"]
    assert unknown.status_code == 404
    assert too_big.status_code == 422
    unknown_client = await client.post(
        "/api/consultations/simple", json={"client_id": str(uuid.uuid4()), **tech()}
    )
    assert unknown_client.status_code == 404


async def test_rating_a_consultation_without_a_manager_needs_one(
    onec: RunningOneC, chatwoot: RunningChatwoot, runtime_factory: Any, client_factory: Any
) -> None:
    runtime, client, booked, manager_key = await _booked(
        runtime_factory, client_factory, onec, chatwoot
    )
    async with runtime.database.transaction() as session:
        await session.execute(
            text("UPDATE cons.cons SET manager = NULL WHERE cons_id = :id"),
            {"id": booked["cons_id"]},
        )
    url = f"/api/consultations/{booked['cons_id']}/ratings"

    without = await client.post(url, json={"answers": [{"question_number": 1, "rating": 5}]})
    named = await client.post(
        url,
        json={"answers": [{"question_number": 1, "rating": 5}], "manager_key": str(manager_key)},
    )

    assert without.status_code == 409
    assert without.json()["error"] == "no_manager"
    assert named.status_code == 200
    assert [t.operation for t in await outbox(runtime)].count("onec.record_rating") == 1
    async with runtime.database.transaction() as session:
        assert (
            await session.execute(text("SELECT count(*) FROM cons.cons_rating_answers"))
        ).scalar() == 1
