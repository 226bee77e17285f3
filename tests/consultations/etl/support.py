"""A small 1C base for the ETL tests: subscribers, consultation documents and register records
shaped as the demo base's (`sandbox/demo_data/builder.py`), and readers of what the ETL wrote."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from switchboard.consultations.models import Consultation, Manager, QuestionAnswer
from switchboard.consultations.sync.models import OutboxTask
from switchboard.core.db.system import SyncState
from switchboard.integrations.models import NotificationLog
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningOneC

TASHKENT = ZoneInfo("Asia/Tashkent")
FOLDER = "7ccd31ca-887b-11eb-938b-00e04cd03b68"
OTHER_FOLDER = "11111111-2222-3333-4444-555555555555"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
RU = "15d38cda-1812-11ef-b824-c67597d01fa8"
UZ = "15d38cdb-1812-11ef-b824-c67597d01fa8"

DOCUMENTS = "Document_ТелефонныйЗвонок"
CONTRACTORS = "Catalog_Контрагенты"
REDATES = "InformationRegister_РегистрацияПереносаКонсультации"
RATINGS = "InformationRegister_ОценкаКонсультацийПоЗаявкам"
CALLS = "InformationRegister_РегистрацияДозвона"

QUEUED = "ВОчередьНаКонсультацию"
CONSULTED = "КонсультацияИТС"


def key(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"etl-test/{name}"))


def ukey(name: str) -> uuid.UUID:
    return uuid.UUID(key(name))


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def local(moment: datetime) -> str:
    """A moment as 1C writes it: wall-clock time of Tashkent, no offset, whole seconds."""
    return moment.astimezone(TASHKENT).replace(tzinfo=None, microsecond=0).isoformat()


def subscriber(name: str, *, ours: bool = True) -> dict[str, Any]:
    return {
        "Ref_Key": key(name),
        "Description": f"Clobus ООО {name}",
        "Parent_Key": FOLDER if ours else OTHER_FOLDER,
    }


def document(
    name: str,
    client: str,
    *,
    changed: datetime,
    manager: str | None = "manager-a",
    kind: str = QUEUED,
    start: datetime | None = None,
    end: datetime | None = None,
    deleted: bool = False,
    denied: bool = False,
    lang: str = RU,
    number: str | None = None,
    its: Sequence[tuple[str, str]] = (),
    answers: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A `Document_ТелефонныйЗвонок` as the base holds it (КонсультацииИТС / ВопросыИОтветы
    rows from (question, answer) pairs)."""
    created = changed - timedelta(hours=1)
    start = start or changed + timedelta(hours=2)
    return {
        "Ref_Key": key(name),
        "Number": number or f"ЦЛ00-{zlib.crc32(name.encode()) % 1000000:06d}",
        "Date": local(created),
        "DeletionMark": deleted,
        "Posted": end is not None,
        "Описание": f"Вопрос клиента {name}",
        "ВидОбращения": kind,
        "Входящий": True,
        "ДатаСоздания": local(created),
        "ДатаИзменения": local(changed),
        "ДатаКонсультации": local(start),
        "Конец": local(end) if end is not None else EMPTY_DATE,
        "ЗакрытоБезКонсультации": denied,
        "Абонент_Key": key(client),
        "Автор_Key": EMPTY_REF,
        "Менеджер_Key": key(manager) if manager else EMPTY_REF,
        "Ответственный_Key": key(manager) if manager else EMPTY_REF,
        "Тема": "Консультация по ведению учёта",
        "Вопрос": "",
        "Язык_Key": lang,
        "КатегорияВопроса_Key": EMPTY_REF,
        "ВопросНаКонсультацию_Key": EMPTY_REF,
        "СпособСвязи": "ПоСайту",
        "АбонентКакСвязаться": "+998 90 123-45-67 / Алишер / SITE",
        "АбонентПредставление": f"Clobus ООО {client}",
        "Важность": "Обычная",
        "Комментарий": "Создано из Clobus.uz",
        "КонсультацииИТС": [
            {
                "LineNumber": str(number),
                "ВидПО_Key": EMPTY_REF,
                "РазделПО_Key": EMPTY_REF,
                "НаличиеПомех_Key": EMPTY_REF,
                "ПомощьМенеджера_Key": EMPTY_REF,
                "ПовторноеОбращение": False,
                "Вопрос": question,
                "Ответ": answer,
            }
            for number, (question, answer) in enumerate(its, start=1)
        ],
        "ВопросыИОтветы": [
            {"LineNumber": str(number), "Вопрос": question, "Ответ": answer}
            for number, (question, answer) in enumerate(answers, start=1)
        ],
    }


def put_documents(onec: RunningOneC, *documents: dict[str, Any]) -> None:
    """Store documents as they are now in 1C (replacing earlier versions with the same key,
    keeping the ДатаИзменения the test gives)."""
    store = onec.emulator.store
    for doc in documents:
        if store.get(DOCUMENTS, doc["Ref_Key"]) is not None:
            store.delete(DOCUMENTS, doc["Ref_Key"])
    store.load({DOCUMENTS: list(documents)})


def redate(
    doc: str, client: str, *, period: datetime, old: datetime, new: datetime, manager: str
) -> dict[str, Any]:
    return {
        "Period": local(period),
        "ДокументОбращения_Key": key(doc),
        "Абонент_Key": key(client),
        "Менеджер_Key": key(manager),
        "СтараяДата": local(old),
        "НоваяДата": local(new),
        "Комментарий": "Клиент попросил перенести",
    }


def rating(
    doc: str,
    client: str,
    *,
    period: datetime,
    number: int,
    score: int,
    manager: str,
    rated: datetime | None,
) -> dict[str, Any]:
    return {
        "Period": local(period),
        "Обращение_Key": key(doc),
        "Контрагент_Key": key(client),
        "Менеджер_Key": key(manager),
        "НомерВопроса": number,
        "Оценка": score,
        "Вопрос": f"Вопрос {number}",
        "Комментарий": "",
        "ОтправленаБаза": True,
        "ДатаОценки": local(rated) if rated is not None else EMPTY_DATE,
    }


def call(doc: str, client: str, *, period: datetime, manager: str) -> dict[str, Any]:
    return {
        "Period": local(period),
        "ДокументОбращения_Key": key(doc),
        "Абонент_Key": key(client),
        "Менеджер_Key": key(manager),
    }


def filters(onec: RunningOneC, entity: str) -> list[str]:
    """The `$filter` of every read of `entity`, in order."""
    from urllib.parse import parse_qs

    return [
        parse_qs(entry.query).get("$filter", [""])[0]
        for entry in onec.emulator.journal.matching("GET", f"*/{entity}")
    ]


# --- our side ------------------------------------------------------------------------------


async def add_manager(runtime: Runtime, name: str, description: str, **values: Any) -> None:
    async with runtime.database.transaction() as session:
        session.add(Manager(cl_ref_key=ukey(name), description=description, **values))


async def add_booked(
    runtime: Runtime,
    doc: str,
    *,
    conversation_id: int | None = 501,
    status: str = "pending",
    manager: str | None = "manager-a",
    lang: str = "ru",
    **values: Any,
) -> str:
    """A consultation booked through our API whose 1C document is `doc`."""
    cons_id = str(uuid.uuid4())
    async with runtime.database.transaction() as session:
        session.add(
            Consultation(
                cons_id=cons_id,
                cl_ref_key=ukey(doc),
                chatwoot_conversation_id=conversation_id,
                status=status,
                manager=ukey(manager) if manager else None,
                source="SITE",
                lang=lang,
                consultation_type="Консультация по ведению учёта",
                **values,
            )
        )
    return cons_id


async def consultations(runtime: Runtime) -> dict[uuid.UUID | None, Consultation]:
    async with runtime.database.transaction() as session:
        rows = (await session.scalars(select(Consultation))).all()
    return {row.cl_ref_key: row for row in rows}


async def lines(runtime: Runtime, cons_id: str) -> list[tuple[int | None, str | None]]:
    async with runtime.database.transaction() as session:
        rows = await session.execute(
            select(QuestionAnswer.line_number, QuestionAnswer.answer)
            .where(QuestionAnswer.cons_id == cons_id)
            .order_by(QuestionAnswer.line_number)
        )
        return [(number, answer) for number, answer in rows.all()]


async def cursor(runtime: Runtime, entity: str) -> datetime | None:
    async with runtime.database.transaction() as session:
        state = await session.get(SyncState, entity)
        return state.last_synced_at if state else None


async def outbox(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.database.transaction() as session:
        tasks = (await session.scalars(select(OutboxTask).order_by(OutboxTask.id))).all()
    return [(task.operation, dict(task.payload)) for task in tasks]


async def messages(runtime: Runtime) -> list[tuple[str, str]]:
    """(cons_id, text) of every client message queued."""
    return [
        (payload["cons_id"], payload["text"])
        for operation, payload in await outbox(runtime)
        if operation == "chatwoot.post_message"
    ]


async def notification_count(runtime: Runtime) -> int:
    async with runtime.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(NotificationLog)) or 0)


async def row_versions(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """The physical version of every row the ETL may write (xmin: who wrote it, xmax: who last
    locked or deleted it): equal before and after a run means the run wrote nothing, and did
    not even lock a row."""
    tables = [
        ("cons.cons", "cons_id"),
        ("cons.q_and_a", "id"),
        ("cons.cons_redate", "id"),
        ("cons.cons_rating_answers", "id"),
        ("cons.calls", "period, cons_key, manager"),
        ("cons.status_history", "id"),
        ("sys.sync_state", "entity_name"),
        ("sys.outbox", "id"),
        ("log.notification_log", "id"),
    ]
    versions: dict[str, list[tuple[Any, ...]]] = {}
    async with runtime.database.transaction() as session:
        for table, order in tables:
            rows = await session.execute(
                text(f"SELECT xmin::text, xmax::text, {order} FROM {table} ORDER BY {order}")  # noqa: S608
            )
            versions[table] = [tuple(row) for row in rows.all()]
    return versions
