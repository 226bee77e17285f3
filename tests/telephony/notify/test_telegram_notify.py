"""Calls played by the generator become one Telegram message per call and chat, sent on the
call's first event and edited as it moves on, through the platform's own delivery service and
the Telegram emulator: in order, through rate limits and outages, escaped, token never shown.

The `telegram` adapter is put into the runtime here (`Crms` does not list it yet)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from switchboard.core.crypto import SecretBox
from switchboard.core.logging import configure_logging
from switchboard.integrations.telegram.adapter import TelegramNotifier, make_config
from switchboard.runtime import Runtime
from switchboard.sandbox.asterisk.calls import CallGenerator, CallScenario
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningPbxRecordings, RunningTelegram
from switchboard.sandbox.telegram import MessageView
from switchboard.telephony.delivery.tasks import Crms, run_once
from switchboard.telephony.models import CallEvent, Delivery, IntegrationLog
from tests.telephony.support import TOKEN, add_enterprise

from .conftest import BOT_TOKEN, CALLS_CHAT, SECOND_CHAT

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PAST = datetime(2020, 1, 1, tzinfo=UTC)


def _mmss(seconds: int) -> str:
    assert seconds < 3600
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class Platform:
    """The platform (API + its delivery service) with the Telegram adapter, and the emulator."""

    runtime: Runtime
    client: httpx.AsyncClient
    telegram: RunningTelegram
    pbx: RunningPbxRecordings

    async def enterprise(
        self, chats: Iterable[int] = (CALLS_CHAT,), token: str = BOT_TOKEN
    ) -> None:
        config = make_config(
            SecretBox(), bot_token=token, chat_ids=list(chats), api_url=self.telegram.url
        )
        await add_enterprise(self.runtime, integrations={"telegram": config})

    async def post(self, event_type: str, payload: dict[str, Any]) -> None:
        response = await self.client.post(f"/{event_type}", json=payload)
        assert response.status_code == 200, response.text

    async def play(self, scenario: CallScenario, *, recorded: bool = False) -> None:
        """The events of `scenario`; `recorded`: its hangup names its recording on the PBX."""
        for event in scenario.events:
            payload = dict(event.payload)
            if recorded and event.name == "hangup":
                payload["RecordUrl"] = self.pbx.url_for(scenario.unique_id)
            await self.post(event.name, payload)

    async def settle(self, timeout: float = 10.0) -> None:
        """Until every stored event is planned and no delivery waits (due or not), except behind
        a failed one of its call: runs passes of the delivery service beside the app's own."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await run_once(self.runtime)
            async with self.runtime.database.transaction() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(CallEvent)
                    .where(CallEvent.dispatched_at.is_(None))
                )
            if not waiting and not _moving(await self.deliveries()):
                return
            assert asyncio.get_running_loop().time() < deadline, await self.deliveries()
            await asyncio.sleep(0.05)

    async def deliveries(self) -> list[Delivery]:
        """Telegram's deliveries (a recorded call's `recordings` fetch is not one)."""
        async with self.runtime.database.transaction() as session:
            return list(
                await session.scalars(
                    select(Delivery).where(Delivery.integration == "telegram").order_by(Delivery.id)
                )
            )

    async def logs(self) -> list[IntegrationLog]:
        """Telegram's lines of the integration log."""
        async with self.runtime.database.transaction() as session:
            return list(
                await session.scalars(
                    select(IntegrationLog)
                    .where(IntegrationLog.integration_type == "telegram")
                    .order_by(IntegrationLog.id)
                )
            )

    def messages(self, chat: int = CALLS_CHAT) -> list[MessageView]:
        return self.telegram.emulator.messages(chat)


def _moving(deliveries: list[Delivery]) -> list[Delivery]:
    """Pending deliveries not held back by a failed one of their call (those wait for a person)."""
    failed = {d.order_key for d in deliveries if d.status == "failed"}
    return [d for d in deliveries if d.status == "pending" and d.order_key not in failed]


@pytest.fixture
async def platform(
    runtime_factory: Any,
    client_factory: Any,
    telegram: RunningTelegram,
    pbx_recordings: RunningPbxRecordings,
) -> AsyncIterator[Platform]:
    runtime = await runtime_factory(HTTP_MAX_ATTEMPTS=1, BREAKER_RESET_SECONDS=0.05)
    notifier = TelegramNotifier(runtime.http, SecretBox())
    # Before the app starts its delivery service, so that no event is planned without it.
    runtime.extension(Crms).adapters["telegram"] = notifier
    client = await client_factory(runtime)
    try:
        yield Platform(runtime, client, telegram, pbx_recordings)
    finally:
        await notifier.aclose()


def _generator(seed: int = 7) -> CallGenerator:
    return CallGenerator(token=TOKEN, extensions=("150", "151", "152"), seed=seed)


def _texts(message: MessageView) -> list[str]:
    return [version.text for version in message.versions]


async def test_an_answered_call_is_one_message_edited_until_it_ends(platform: Platform) -> None:
    await platform.enterprise()
    scenario = _generator().scenario("incoming_answered", at=WHEN)
    await platform.play(scenario, recorded=True)
    await platform.settle()
    await platform.settle()  # nothing twice

    [message] = platform.messages()
    started, ringing, talking, ended = _texts(message)
    for text in (started, ringing, talking, ended):
        assert text.startswith("📞 Входящий звонок")
        assert f"Линия: {scenario.trunk}" in text
        assert "Клиент: +375 " in text
    assert "Поступил" in started
    assert f"Вызов на {', '.join(scenario.rung)}" in ringing
    assert f"ответил {scenario.talked[-1]}" in talking
    assert "Завершён, отвечен" in ended
    assert f"Разговор: {_mmss(scenario.talk_seconds)}" in ended
    assert "Запись разговора" in ended
    [link] = [entity for entity in message.entities if entity["type"] == "text_link"]
    # The platform's own signed link, never the PBX's address; it plays the PBX's recording.
    assert link["url"].startswith("http://127.0.0.1:8000/recordings/")
    opened = await platform.client.get(link["url"].removeprefix("http://127.0.0.1:8000"))
    assert opened.status_code == 200
    assert opened.content == platform.pbx.emulator.recording(scenario.unique_id)

    deliveries = await platform.deliveries()
    chat = CALLS_CHAT
    assert [d.kind for d in deliveries] == [
        f"tg:{chat}:send",
        f"tg:{chat}:edit:dial:1",
        f"tg:{chat}:edit:bridge:1",
        f"tg:{chat}:edit:hangup:1",
    ]
    assert {d.status for d in deliveries} == {"done"}
    assert all((d.result or {}).get("message_id") == message.message_id for d in deliveries)
    logs = await platform.logs()
    assert [(log.integration_type, log.status) for log in logs] == [("telegram", "success")] * 4
    assert BOT_TOKEN not in str([(log.request_data, log.response_data) for log in logs])


async def test_a_missed_call_and_an_internal_call(platform: Platform) -> None:
    await platform.enterprise()
    generator = _generator(seed=21)
    missed = generator.scenario("incoming_missed", at=WHEN)
    internal = generator.scenario("internal", at=WHEN)
    await platform.play(missed)
    await platform.play(internal)
    await platform.settle()

    first, second = platform.messages()
    assert len(first.versions) == 3  # start, dial, hangup
    assert "❌ Пропущен" in first.text
    assert f"Вызов на {', '.join(missed.rung)}" in first.text
    assert "Разговор" not in first.text
    caller = internal.hangup.payload["CallerIDNum"]
    callee = internal.hangup.payload["ConnectedLineNum"]
    assert [text.splitlines()[0] for text in _texts(second)] == ["🏢 Внутренний звонок"] * 2
    assert f"Номера: {caller} → {callee}" in second.text
    assert f"Разговор: {_mmss(internal.talk_seconds)}" in second.text


async def test_each_chat_gets_its_own_message_and_a_transfer_edits_it_again(
    platform: Platform,
) -> None:
    await platform.enterprise(chats=(CALLS_CHAT, SECOND_CHAT))
    scenario = _generator(seed=5).scenario("incoming_transferred", at=WHEN)
    await platform.play(scenario)
    await platform.settle()

    [in_calls] = platform.messages(CALLS_CHAT)
    [in_second] = platform.messages(SECOND_CHAT)
    assert _texts(in_calls) == _texts(in_second)
    assert len(in_calls.versions) == 6
    _first, second = scenario.talked
    assert f"Перевод на {second}" in _texts(in_calls)[3]
    assert f"ответил {second}" in _texts(in_calls)[4]
    for chat, message in ((CALLS_CHAT, in_calls), (SECOND_CHAT, in_second)):
        mine = [d for d in await platform.deliveries() if d.kind.startswith(f"tg:{chat}:")]
        assert {(d.result or {}).get("message_id") for d in mine} == {message.message_id}
        assert [d.kind.split(":", 2)[2] for d in mine] == [
            "send",
            "edit:dial:1",
            "edit:bridge:1",
            "edit:dial:2",
            "edit:bridge:2",
            "edit:hangup:1",
        ]


async def test_an_event_that_changes_nothing_shown_is_not_modified_and_done(
    platform: Platform,
) -> None:
    await platform.enterprise()
    scenario = _generator(seed=9).scenario("incoming_missed", at=WHEN)
    _start, dial, hangup = scenario.events
    await platform.post("dial", dict(dial.payload))
    # The PBX reports the ring again from another channel: a new event, the same text.
    await platform.post("dial", {**dial.payload, "Channel": "SIP/0001363-000000ff"})
    await platform.post("hangup", dict(hangup.payload))
    await platform.settle()

    _send, again, ended = await platform.deliveries()
    assert (again.kind, again.status) == (f"tg:{CALLS_CHAT}:edit:dial:1", "done")
    assert again.result == {"chat_id": CALLS_CHAT, "message_id": 1, "not_modified": True}
    assert ended.status == "done"
    [message] = platform.messages()
    assert len(message.versions) == 2  # the ring, then the end: nothing was lost in between
    statuses = [e.status for e in platform.telegram.emulator.journal.matching("POST", "*/edit*")]
    assert statuses == [400, 200]


async def test_a_429_is_retried_after_retry_after_and_the_edits_stay_in_order(
    platform: Platform,
) -> None:
    await platform.enterprise()
    platform.telegram.emulator.throttle("editMessageText", retry_after=1, times=1)
    scenario = _generator(seed=13).scenario("incoming_answered", at=WHEN)
    await platform.play(scenario)
    await platform.settle()

    [message] = platform.messages()
    states = _texts(message)
    assert len(states) == 4
    assert ["Поступил" in states[0], "Вызов на" in states[1]] == [True, True]
    assert "ответил" in states[2]
    assert "Завершён" in states[3]
    _send, dial, bridge, ended = await platform.deliveries()
    assert (dial.attempts, bridge.attempts, ended.attempts) == (2, 1, 1)  # none went ahead
    edits = platform.telegram.emulator.journal.matching("POST", "*/editMessageText")
    assert [entry.status for entry in edits] == [429, 200, 200, 200]
    assert edits[1].at - edits[0].at >= 1.0  # Telegram's retry_after was honoured
    statuses = [(log.event_type, log.status) for log in await platform.logs()]
    assert statuses[1] == (dial.kind, "error")
    assert statuses.count((dial.kind, "success")) == 1


async def test_telegram_down_for_a_while_every_call_is_shown_when_it_returns(
    platform: Platform,
) -> None:
    await platform.enterprise()
    generator = _generator(seed=17)
    calls = [generator.scenario("incoming_answered", at=WHEN) for _ in range(3)]
    emulator = platform.telegram.emulator
    emulator.faults.add(Fault(path="/bot*", status=502))
    captured = io.StringIO()
    configure_logging(level="DEBUG", json=True, stream=captured, cache=False)
    try:
        for scenario in calls:
            await platform.play(scenario, recorded=True)
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # until every event is planned and every call's send failed (and waits)
            await run_once(platform.runtime)
            deliveries = await platform.deliveries()
            failed = {d.unique_id for d in deliveries if d.last_error and d.lease_until is None}
            if failed == {c.unique_id for c in calls} and len(deliveries) == 4 * len(calls):
                break
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        assert emulator.messages(CALLS_CHAT) == []
        for scenario in calls:  # the rest of each call waits behind its send
            send, *edits = [d for d in deliveries if d.unique_id == scenario.unique_id]
            assert send.kind.endswith(":send")
            assert send.status == "pending"
            assert send.last_error  # Telegram's 502 (or the breaker it opened, on a slow run)
            assert edits
            assert all(d.attempts == 0 for d in edits)

        emulator.faults.clear()
        deadline = asyncio.get_running_loop().time() + 15
        while {d.status for d in await platform.deliveries()} != {"done"}:
            assert asyncio.get_running_loop().time() < deadline
            async with platform.runtime.database.transaction() as session:
                for delivery in await session.scalars(select(Delivery)):
                    if delivery.status == "pending":
                        delivery.next_attempt_at = PAST  # time passes: the backoff is over
            await run_once(platform.runtime)
            await asyncio.sleep(0.05)
    finally:
        configure_logging(level="WARNING", cache=False)

    messages = emulator.messages(CALLS_CHAT)
    assert len(messages) == len(calls)  # one each: nothing sent twice
    for message in messages:
        states = _texts(message)
        assert ["Поступил" in states[0], "Вызов на" in states[1]] == [True, True]
        assert "ответил" in states[2]
        assert "Завершён" in states[3]
        assert len(states) == 4
    output = captured.getvalue()
    assert "adapter call" in output  # the failures were logged, with their URLs ...
    assert "/bot***/sendMessage" in output
    assert BOT_TOKEN not in output  # ... and the token masked
    secret = BOT_TOKEN.split(":", 1)[1]
    logs = await platform.logs()
    assert any("Bad Gateway" in (log.error_message or "") for log in logs)
    stored = str([(d.payload, d.result, d.last_error) for d in await platform.deliveries()])
    stored += str([(log.request_data, log.response_data, log.error_message) for log in logs])
    assert secret not in stored
    assert secret not in output


async def test_a_refusal_waits_for_a_person_with_telegrams_reason(platform: Platform) -> None:
    await platform.enterprise(chats=(-1009999,))
    scenario = _generator(seed=2).scenario("incoming_missed", at=WHEN)
    await platform.play(scenario)
    await platform.settle()

    send, *later = await platform.deliveries()
    assert send.status == "failed"
    assert "chat not found" in (send.last_error or "")
    assert all(d.status == "pending" and d.attempts == 0 for d in later)  # held back, in order
    [log] = await platform.logs()
    assert (log.status, log.event_type) == ("error", send.kind)
    assert "chat not found" in (log.error_message or "")


async def test_a_wrong_token_is_refused_and_never_shown(platform: Platform) -> None:
    wrong = "7000000042:AAwrong-token-of-someone-else"
    await platform.enterprise(token=wrong)
    captured = io.StringIO()
    configure_logging(level="DEBUG", json=True, stream=captured, cache=False)
    try:
        await platform.play(_generator(seed=4).scenario("incoming_missed", at=WHEN))
        await platform.settle()
    finally:
        configure_logging(level="WARNING", cache=False)
    send = (await platform.deliveries())[0]
    assert send.status == "failed"
    assert "bot token was refused (401)" in (send.last_error or "")
    [log] = await platform.logs()
    shown = captured.getvalue() + str(send.last_error) + str(log.error_message)
    assert "/bot***/sendMessage" in captured.getvalue()
    assert wrong.split(":", 1)[1] not in shown


async def test_html_in_pbx_fields_is_shown_as_text(platform: Platform) -> None:
    await platform.enterprise()
    phone = '<a href="https://evil.test">1</a>'
    trunk = "<b>line</b> & co"
    base = {"Token": TOKEN, "UniqueId": "1764496800.77", "CallType": 0}
    await platform.post(
        "dial",
        {**base, "Phone": phone, "CallerIDNum": phone, "Trunk": trunk, "Extensions": ["<i>15</i>"]},
    )
    await platform.post(
        "hangup",
        {
            **base,
            "Phone": phone,
            "Trunk": trunk,
            "Extensions": ["150"],
            "ConnectedLineNum": "150",
            "CallStatus": "2",
            "StartTime": "2026-11-30 10:00:10",
            "EndTime": "2026-11-30 10:00:52",
            "RecordUrl": "javascript:alert(document.cookie)",
        },
    )
    await platform.settle()

    [message] = platform.messages()
    ringing, ended = _texts(message)
    assert f"Клиент: {phone}" in ringing
    assert f"Линия: {trunk}" in ringing
    assert "Вызов на <i>15</i>" in ringing
    assert f"Клиент: {phone}" in ended
    assert "Разговор: 0:42" in ended
    assert "Запись" not in ended  # not an http(s) link: left out
    for version in message.versions:
        # Telegram finds URLs and /commands in any text by itself; markup is the title's only.
        marked = [e["type"] for e in version.entities if e["type"] not in ("url", "bot_command")]
        assert marked == ["bold"]
        assert version.text.startswith("📞 Входящий звонок")
