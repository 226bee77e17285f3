"""Planning and texts, pure: what each event of a call owes each chat, and what the message says
in each state (from the call generator's events, as the PBX sends them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from switchboard.core.crypto import SecretBox
from switchboard.core.http import HttpKit
from switchboard.core.metrics import Metrics
from switchboard.integrations.crm import CallCrm, CallFacts, Planned
from switchboard.integrations.telegram import texts
from switchboard.integrations.telegram.adapter import TelegramNotifier, chat_ids, make_config
from switchboard.sandbox.asterisk.calls import CallGenerator, CallScenario

WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CONFIG = {"enabled": True, "chat_ids": [-1001, -1002]}


def _notifier() -> TelegramNotifier:
    return TelegramNotifier(HttpKit(Metrics()), SecretBox())


def _generator(seed: int = 3) -> CallGenerator:
    return CallGenerator(token="t", extensions=("150", "151", "152"), seed=seed)


def _plan_call(
    scenario: CallScenario, config: Mapping[str, Any] = CONFIG
) -> list[tuple[str, Planned]]:
    """Plan every event of the call in order, as the dispatcher does (each event seeing the
    kinds planned before it); (event name, planned) pairs."""
    crm: CallCrm = _notifier()
    planned: list[tuple[str, Planned]] = []
    for event in scenario.events:
        facts = _facts(event.name, event.payload, (p.kind for _, p in planned))
        planned += [(event.name, item) for item in crm.plan(facts, config)]
    return planned


def _facts(event_type: str, raw: Mapping[str, Any], planned: Iterable[str]) -> CallFacts:
    return CallFacts(
        enterprise_number="0367",
        unique_id=str(raw.get("UniqueId", "1.1")),
        event_type=event_type,
        raw=raw,
        first_seen=WHEN,
        planned=frozenset(planned),
    )


def test_each_chat_gets_a_send_then_edits_numbered_per_event_type() -> None:
    scenario = _generator().scenario("incoming_transferred", at=WHEN)
    kinds = [planned.kind for _, planned in _plan_call(scenario)]
    assert kinds == [
        "tg:-1001:send",
        "tg:-1002:send",
        *(
            f"tg:{chat}:edit:{kind}"
            for kind in ("dial:1", "bridge:1", "dial:2", "bridge:2", "hangup:1")
            for chat in (-1001, -1002)
        ),
    ]
    assert len(set(kinds)) == len(kinds)  # a kind is never planned twice for a call


def test_payloads_carry_the_chat_and_the_whole_text_of_the_state() -> None:
    scenario = _generator().scenario("incoming_transferred", at=WHEN)
    planned = _plan_call(scenario, {"chat_ids": [-1001]})
    texts_by_event = [(name, str(item.payload["text"])) for name, item in planned]
    assert all(item.payload["chat_id"] == -1001 for _, item in planned)
    first, second = scenario.talked
    line = f"Линия: {scenario.trunk}"
    assert all(line in text for _, text in texts_by_event)  # bridges carry no Trunk
    assert all("Входящий звонок" in text for _, text in texts_by_event)
    assert [name for name, _ in texts_by_event] == [e.name for e in scenario.events]
    start, ring, talk, transfer, talk_again, ended = (text for _, text in texts_by_event)
    assert "Поступил" in start
    assert f"Вызов на {', '.join(scenario.rung)}" in ring
    assert f"ответил {first}" in talk
    assert f"Перевод на {second}" in transfer  # a dial after the answer
    assert f"ответил {second}" in talk_again
    assert "Завершён, отвечен" in ended
    assert f"Ответил: {second}" in ended


def test_a_chat_added_during_a_call_gets_its_own_send_first() -> None:
    scenario = _generator().scenario("incoming_answered", at=WHEN)
    dial = next(e for e in scenario.events if e.name == "dial")
    facts = _facts("dial", dial.payload, ["tg:-1001:send"])
    kinds = [p.kind for p in _notifier().plan(facts, CONFIG)]
    assert kinds == ["tg:-1001:edit:dial:1", "tg:-1002:send"]


def test_nothing_is_planned_without_chats_or_for_unknown_events() -> None:
    scenario = _generator().scenario("incoming_answered", at=WHEN)
    assert _plan_call(scenario, {"enabled": True}) == []
    assert _notifier().plan(_facts("download", scenario.events[-1].payload, []), CONFIG) == []


def test_chat_ids_are_read_leniently_and_once_each() -> None:
    config = {"chat_ids": ["-1001", -1001, " @calls_channel ", "", True, 42]}
    assert chat_ids(config) == [-1001, "@calls_channel", 42]
    assert chat_ids({"chat_ids": -5}) == [-5]


def test_make_config_keeps_the_token_encrypted() -> None:
    secrets = SecretBox()
    config = make_config(secrets, bot_token="1:abc", chat_ids=[-1001], api_url="http://tg.test")
    assert "1:abc" not in str(config)
    assert secrets.decrypt(config["bot_token_encrypted"]) == "1:abc"
    assert config == {**config, "enabled": True, "chat_ids": [-1001], "api_url": "http://tg.test"}


def _ended(kind: str, seed: int = 3, **changes: Any) -> tuple[CallScenario, str]:
    scenario = _generator(seed).scenario(kind, at=WHEN)
    text = texts.call_text("hangup", {**scenario.hangup.payload, **changes})
    assert text is not None
    return scenario, text


def test_ended_states_say_the_outcome() -> None:
    missed, text = _ended("incoming_missed")
    assert "❌ Пропущен" in text
    assert f"Вызов на {', '.join(missed.rung)}" in text
    assert f"Ожидание: {missed.duration // 60}:{missed.duration % 60:02d}" in text
    assert "Разговор" not in text

    _busy, text = _ended("incoming_busy")
    assert "⛔ Занято" in text

    outgoing, text = _ended("outgoing_unanswered")
    assert "Исходящий звонок" in text
    assert "❌ Клиент не ответил" in text
    assert f"Звонил: {outgoing.rung[0]}" in text

    internal, text = _ended("internal")
    caller = internal.hangup.payload["CallerIDNum"]
    assert "Внутренний звонок" in text
    assert f"Номера: {caller} → {internal.hangup.payload['Phone']}" in text
    assert "Клиент" not in text


def test_talk_durations_and_recording_links() -> None:
    assert texts.duration(42) == "0:42"
    assert texts.duration(600) == "10:00"
    assert texts.duration(3725) == "1:02:05"
    scenario, _ = _ended("outgoing_answered")
    hangup = {**scenario.hangup.payload, "StartTime": "2026-11-30 10:00:00"}
    hangup["EndTime"] = "2026-11-30 10:00:42"
    text = texts.call_text("hangup", hangup, record_url="https://rec.test/r/1?a=1&b=2")
    assert text is not None
    assert "Разговор: 0:42" in text
    assert '<a href="https://rec.test/r/1?a=1&amp;b=2">Запись разговора</a>' in text
    for not_a_link in ("javascript:alert(1)", "ftp://rec.test/r", "https://", "x" * 3000):
        assert texts.recording_link(not_a_link) is None


def test_numbers_are_shown_for_people_and_long_ring_groups_are_cut() -> None:
    assert texts.phone("375291234567") == "+375 29 123-45-67"
    assert texts.phone("+375 (29) 123-45-67") == "+375 29 123-45-67"
    assert texts.phone("anonymous") == "anonymous"
    dial = {"CallType": 0, "Phone": "", "Extensions": [str(100 + n) for n in range(30)]}
    text = texts.call_text("dial", dial)
    assert text is not None
    assert "Клиент: номер не определён" in text
    assert "119 и ещё 10" in text
    assert "120" not in text


def test_pbx_values_cannot_add_markup() -> None:
    raw = {
        "CallType": 0,
        "Phone": '<a href="https://evil.test">x</a>',
        "Trunk": "<b>&amp;</b>",
        "Extensions": ["150", "<i>151</i>"],
    }
    text = texts.call_text("dial", raw)
    assert text is not None
    assert "&lt;a href=&quot;https://evil.test&quot;&gt;x&lt;/a&gt;" in text
    assert "Линия: &lt;b&gt;&amp;amp;&lt;/b&gt;" in text
    assert "150, &lt;i&gt;151&lt;/i&gt;" in text
    assert text.count("<") == text.count("<b>") * 2  # only our own title's bold
