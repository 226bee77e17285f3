"""`pull_clients_cl` against the 1C emulator and PostgreSQL: 1C's counterparties of our clients'
folder become owners (matched by key, code or INN, else inserted), masks removed, only changed
rows written, clashes left alone deterministically, consultations linked to their owner and
visible through the API; nothing queued for 1C, Chatwoot only for owners it already knows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from switchboard.consultations.clients import service
from switchboard.consultations.clients.tasks import PULL_CLIENTS
from switchboard.consultations.etl.tasks import PULL_CONS
from switchboard.consultations.models import Client, Consultation
from switchboard.consultations.sync.service import enqueue
from switchboard.consultations.sync.tasks import drain
from switchboard.core.http.errors import PeerUnavailable
from switchboard.core.jobs import progress_to
from switchboard.runtime import Runtime
from switchboard.sandbox.demo_data.builder import build_demo_data
from switchboard.sandbox.faults import Fault
from switchboard.sandbox.pytest_plugin import RunningOneC
from tests.consultations.clients.support import clients, outbox
from tests.consultations.etl.support import document, now, put_documents

FOLDER = "7ccd31ca-887b-11eb-938b-00e04cd03b68"
OTHER_FOLDER = "11111111-2222-3333-4444-555555555555"
CONTRACTORS = "Catalog_Контрагенты"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
TARIFF = "c0ffee00-0000-4000-8000-000000000001"
PERIOD = "c0ffee00-0000-4000-8000-000000000012"
_codes = iter(range(1, 10_000))


def key(name: str) -> str:
    """The same keys as the ETL tests' (`tests/consultations/etl/support.py`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"etl-test/{name}"))


def ukey(name: str) -> uuid.UUID:
    return uuid.UUID(key(name))


def contractor(
    name: str,
    *,
    code: int | str,
    inn: str,
    company: str | None = None,
    phone: str | None = "+998 90 123 45 67",
    email: str | None = "buh@romashka.uz",
    folder: str = FOLDER,
    **fields: Any,
) -> dict[str, Any]:
    """A `Catalog_Контрагенты` element shaped as the demo base's (`CounterpartyMaker.make`):
    the name masked `Clobus <company> <code> (<inn>)`, phone digits and presentation."""
    company = company or f"ООО {name.capitalize()}"
    contacts = []
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        contacts.append(
            {
                "LineNumber": str(len(contacts) + 1),
                "Тип": "Телефон",
                "Вид_Key": "c07763c7-2ae8-4708-a608-7691be9d782b",
                "Представление": phone,
                "АдресЭП": "",
                "НомерТелефона": digits,
            }
        )
    if email:
        contacts.append(
            {
                "LineNumber": str(len(contacts) + 1),
                "Тип": "АдресЭлектроннойПочты",
                "Вид_Key": "f0dddb0f-1cac-49ab-ad37-f9480b0ef654",
                "Представление": email,
                "АдресЭП": email,
                "НомерТелефона": "",
            }
        )
    return {
        "Ref_Key": key(name),
        "Code": f"{next(_codes):09d}",
        "Description": f"Clobus {company} {code} ({inn})",
        "DeletionMark": False,
        "Parent_Key": folder,
        "IsFolder": False,
        "ИНН": inn,
        "КодАбонентаClobus": code,
        "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if len(inn) == 9 else "ФизическоеЛицо",
        "Страна": "Узбекистан",
        "Регион": "Ташкентская область",
        "Город": "Чирчик",
        "Подписка": "CLB-2025-00042",
        "ДатаНачалаПодписки": "2025-11-01T00:00:00",
        "ДатаОкончанияПодписки": "2026-11-01T00:00:00",
        "Тариф_Key": TARIFF,
        "ТарифныйПериод_Key": PERIOD,
        "КонтактнаяИнформация": contacts,
        **fields,
    }


def put(onec: RunningOneC, *records: dict[str, Any]) -> None:
    onec.emulator.store.load({CONTRACTORS: list(records)})


def change(onec: RunningOneC, name: str, **changes: Any) -> None:
    onec.emulator.store.update(CONTRACTORS, key(name), changes)


async def start(runtime_factory: Any, onec: RunningOneC, **settings: Any) -> Runtime:
    runtime: Runtime = await runtime_factory(
        **onec.settings(), LOAD_DICTS_ON_START="false", **settings
    )
    return runtime


async def owners(runtime: Runtime) -> dict[uuid.UUID | None, Client]:
    """Every client, by its 1C key."""
    async with runtime.database.transaction() as session:
        rows = (await session.scalars(select(Client).order_by(Client.created_at))).all()
    return {row.cl_ref_key: row for row in rows}


async def client_count(runtime: Runtime) -> int:
    async with runtime.database.transaction() as session:
        return len((await session.scalars(select(Client.client_id))).all())


async def add_owner(runtime: Runtime, **values: Any) -> uuid.UUID:
    """An owner made by the booking form (source SITE), written as the clients part writes it."""
    client_id = uuid.uuid4()
    async with runtime.database.transaction() as session:
        session.add(Client(client_id=client_id, is_parent=True, source="SITE", **values))
    return client_id


async def row_versions(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """The physical version (xmin) of every row a run may write: equal before and after a run
    means the run wrote nothing."""
    versions = {}
    async with runtime.database.transaction() as session:
        for table, order in (
            ("cons.clients", "client_id"),
            ("cons.cons", "cons_id"),
            ("sys.outbox", "id"),
        ):
            rows = await session.execute(
                text(f"SELECT xmin::text, {order} FROM {table} ORDER BY {order}")  # noqa: S608
            )
            versions[table] = [tuple(row) for row in rows.all()]
    return versions


async def run(runtime: Runtime) -> dict[str, Any]:
    return await PULL_CLIENTS.run(runtime)


# --- inserting and updating ----------------------------------------------------------------


async def test_first_run_makes_owners_of_the_folders_counterparties(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    put(
        onec,
        contractor("romashka", code=100234, inn="302345678", company="ООО Ромашка"),
        contractor("karimov", code=5001, inn="31505820123456", company="ИП Каримов Алишер"),
        contractor("stranger", code=9009, inn="309999999", folder=OTHER_FOLDER),
    )
    report = await run(runtime)

    assert report["rows"] == 2
    assert (report["inserted"], report["updated"], report["conflicts"]) == (2, 0, 0)
    found = await owners(runtime)
    assert set(found) == {ukey("romashka"), ukey("karimov")}
    romashka = found[ukey("romashka")]
    assert romashka.is_parent
    assert romashka.parent_id is None
    assert romashka.source == "ONEC"
    # 1C's mask is gone; 1C never names the person, so `name` stays empty.
    assert romashka.company_name == "ООО Ромашка"
    assert found[ukey("karimov")].company_name == "ИП Каримов Алишер"
    assert romashka.name is None
    assert (romashka.org_inn, romashka.code_abonent) == ("302345678", "100234")
    # The phone as the API keeps phones; the e-mail from АдресЭП.
    assert (romashka.phone_number, romashka.email) == ("+998901234567", "buh@romashka.uz")
    assert (romashka.country, romashka.region, romashka.city) == (
        "Узбекистан",
        "Ташкентская область",
        "Чирчик",
    )
    assert romashka.parent_key == uuid.UUID(FOLDER)
    assert (romashka.subs_id, romashka.subs_start, romashka.subs_end) == (
        "CLB-2025-00042",
        date(2025, 11, 1),
        date(2026, 11, 1),
    )
    assert (romashka.tariff_id, romashka.tariffperiod_id) == (uuid.UUID(TARIFF), uuid.UUID(PERIOD))
    # 1C holds these owners already: what it holds is recorded, nothing is queued for it or
    # for Chatwoot (their contact is made when they book).
    card = service.counterparty_card(romashka, "Clobus")
    assert card is not None
    assert romashka.onec_synced_digest == service.digest(card)
    assert service.counterparty_is_current(romashka, card)
    assert await outbox(runtime) == []


async def test_a_second_run_writes_nothing(onec: RunningOneC, runtime_factory: Any) -> None:
    runtime = await start(runtime_factory, onec)
    put(
        onec,
        contractor("romashka", code=100234, inn="302345678"),
        contractor("lutik", code=100235, inn="302345679", email=None, phone=None),
    )
    await run(runtime)
    before = await row_versions(runtime)

    report = await run(runtime)

    assert report == {
        "rows": 2,
        "inserted": 0,
        "updated": 0,
        "linked": 0,
        "conflicts": 0,
        "deleted_in_onec": 0,
        "chat_updates": 0,
    }
    assert await row_versions(runtime) == before


async def test_changes_in_1c_reach_the_owner_and_empty_values_erase_nothing(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    put(onec, contractor("romashka", code=100234, inn="302345678"))
    await run(runtime)
    change(
        onec,
        "romashka",
        Description="Clobus ООО Ромашка Плюс 100234 (302345678)",
        Город="Ташкент",
        ДатаОкончанияПодписки="2027-11-01T00:00:00",
        КонтактнаяИнформация=[
            {"LineNumber": "1", "Тип": "Телефон", "Представление": "+998 71 200 30 40"}
        ],
    )
    before = await owners(runtime)

    report = await run(runtime)

    assert (report["inserted"], report["updated"]) == (0, 1)
    owner = (await owners(runtime))[ukey("romashka")]
    assert owner.client_id == before[ukey("romashka")].client_id
    assert owner.company_name == "ООО Ромашка Плюс"
    assert owner.city == "Ташкент"
    assert owner.subs_end == date(2027, 11, 1)
    # The phone from its presentation; the e-mail 1C no longer lists stays ours.
    assert owner.phone_number == "+998712003040"
    assert owner.email == "buh@romashka.uz"
    card = service.counterparty_card(owner, "Clobus")
    assert card is not None
    assert service.counterparty_is_current(owner, card)
    assert await outbox(runtime) == []


async def test_pages_of_the_folder_each_in_its_own_transaction(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec, ODATA_PAGE_SIZE=2)
    put(
        onec,
        *(contractor(f"firm-{n}", code=2000 + n, inn=f"3020000{n:02d}") for n in range(5)),
    )
    progress: list[tuple[int, str | None]] = []
    with progress_to(lambda rows, entity: progress.append((rows, entity))):
        report = await run(runtime)

    assert progress == [(2, CONTRACTORS), (2, CONTRACTORS), (1, CONTRACTORS)]
    assert (report["rows"], report["inserted"]) == (5, 5)
    assert len(await owners(runtime)) == 5


async def test_a_page_that_1c_fails_keeps_the_pages_before_it(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec, ODATA_PAGE_SIZE=2)
    put(
        onec,
        *(contractor(f"firm-{n}", code=3000 + n, inn=f"3030000{n:02d}") for n in range(4)),
    )
    onec.emulator.faults.add(Fault(method="GET", path=f"*/{CONTRACTORS}*", status=503, after=1))
    with pytest.raises(PeerUnavailable):
        await run(runtime)
    assert len(await owners(runtime)) == 2

    onec.emulator.faults.clear()
    report = await run(runtime)
    assert (report["inserted"], report["updated"]) == (2, 0)
    assert len(await owners(runtime)) == 4


# --- matching our owners ------------------------------------------------------------------


async def test_owners_of_the_booking_form_are_matched_by_code_or_inn_and_linked(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    """1C's code may come as a JSON string with zeros ahead ("000123"): the same subscriber
    as our "123". An owner with no code yet is matched by its INN and takes 1C's code."""
    runtime = await start(runtime_factory, onec)
    by_code = await add_owner(
        runtime,
        org_inn="301234567",
        code_abonent="123",
        company_name="Ромашка",
        name="Алишер Каримов",
        phone_number="+998901112233",
        email="ali@romashka.uz",
    )
    by_inn = await add_owner(runtime, org_inn="302345678", name="Лола")
    onec.emulator.faults.add(
        Fault(
            method="GET",
            path=f"*/{CONTRACTORS}*",
            status=200,
            times=1,
            body={
                "value": [
                    contractor("romashka", code="000123", inn="301234567", email=None),
                    contractor("lola", code=777, inn="302345678", company="ЧП Лола"),
                ]
            },
        )
    )
    report = await run(runtime)

    assert (report["inserted"], report["updated"], report["conflicts"]) == (0, 2, 0)
    found = await owners(runtime)
    assert set(found) == {ukey("romashka"), ukey("lola")}
    romashka, lola = found[ukey("romashka")], found[ukey("lola")]
    assert (romashka.client_id, lola.client_id) == (by_code, by_inn)
    assert romashka.source == "SITE"
    assert romashka.company_name == "ООО Romashka"
    assert romashka.phone_number == "+998901234567"
    # What 1C leaves empty and what 1C never holds stay ours.
    assert romashka.email == "ali@romashka.uz"
    assert romashka.name == "Алишер Каримов"
    assert (lola.code_abonent, lola.company_name) == ("777", "ЧП Лола")
    assert await outbox(runtime) == []


async def test_an_owner_whose_change_is_on_its_way_to_1c_keeps_its_card(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    """A change of ours not yet in 1C (an open `onec.save_owner` task) is newer than what 1C
    holds: the run links the owner and takes 1C's subscription, not 1C's old card. Once the
    task has brought 1C in step, the next run writes nothing."""
    runtime = await start(runtime_factory, onec)
    owner_id = await add_owner(
        runtime,
        org_inn="302345678",
        code_abonent="100234",
        company_name="ООО Ромашка",
        phone_number="+998905556677",
        email="new@romashka.uz",
        country="Узбекистан",
        region="Ташкентская область",
        city="Чирчик",
    )
    async with runtime.database.transaction() as session:
        await enqueue(
            session,
            service.SAVE_OWNER,
            {"client_id": str(owner_id), "name_prefix": "Clobus"},
            order_key=f"onec:client:{owner_id}",
        )
    put(onec, contractor("romashka", code=100234, inn="302345678", company="ООО Ромашка"))

    await run(runtime)

    owner = (await owners(runtime))[ukey("romashka")]
    assert owner.client_id == owner_id
    assert (owner.phone_number, owner.email) == ("+998905556677", "new@romashka.uz")
    assert owner.subs_id == "CLB-2025-00042"
    assert owner.onec_synced_digest is None

    assert (await drain(runtime)).get("done") == 1
    in_1c = onec.emulator.store.get(CONTRACTORS, key("romashka"))
    assert in_1c is not None
    assert {row["Представление"] for row in in_1c["КонтактнаяИнформация"]} >= {
        "+998905556677",
        "new@romashka.uz",
    }
    before = await row_versions(runtime)
    report = await run(runtime)
    assert (report["updated"], report["conflicts"]) == (0, 0)
    assert await row_versions(runtime) == before


async def test_an_owner_known_to_chatwoot_gets_its_contact_updated(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    put(onec, contractor("romashka", code=100234, inn="302345678", company="ООО Ромашка"))
    await run(runtime)
    async with runtime.database.transaction() as session:
        owner = (await session.scalars(select(Client))).one()
        owner.source_id = "contact-source-1"
        owner.chatwoot_contact_id = 41
        owner.chatwoot_synced_digest = service.digest(service.contact_card(owner, owner))

    # A change Chatwoot does not show (the subscription) queues nothing.
    change(onec, "romashka", ДатаОкончанияПодписки="2027-11-01T00:00:00")
    assert (await run(runtime))["chat_updates"] == 0
    assert await outbox(runtime) == []

    change(onec, "romashka", Description="Clobus ООО Ромашка Плюс 100234 (302345678)")
    report = await run(runtime)

    assert (report["updated"], report["chat_updates"]) == (1, 1)
    tasks = await outbox(runtime)
    assert [(task.operation, task.payload["client_id"]) for task in tasks] == [
        (service.SYNC_CONTACT, str(owner.client_id))
    ]


# --- clashes -------------------------------------------------------------------------------


async def test_clashing_codes_and_inns_are_left_alone_the_same_way_every_run(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    linked_elsewhere = await add_owner(
        runtime, org_inn="301111111", code_abonent="100", cl_ref_key=ukey("old-counterparty")
    )
    other_code = await add_owner(runtime, org_inn="302222222", code_abonent="200")
    unlinked = await add_owner(runtime, org_inn="308888880", code_abonent="800")
    put(
        onec,
        # The code of an owner linked to another counterparty.
        contractor("same-code", code=100, inn="303333333"),
        # The INN of an owner with another code.
        contractor("same-inn", code=300, inn="302222222"),
        # Two counterparties of one INN: the older code wins.
        contractor("twin-a", code=400, inn="304444444"),
        contractor("twin-b", code=401, inn="304444444"),
        # Two counterparties of one code: the older one is our unlinked owner's.
        contractor("dup-a", code=800, inn="308888881"),
        contractor("dup-b", code=800, inn="308888882"),
        contractor("plain", code=500, inn="305555555"),
    )
    untouched = (linked_elsewhere, other_code)
    before = {row.client_id: row.updated_at for row in await clients(runtime)}

    report = await run(runtime)

    assert (report["inserted"], report["updated"], report["conflicts"]) == (2, 1, 4)
    found = await owners(runtime)
    assert set(found) == {
        ukey("old-counterparty"),
        None,
        ukey("twin-a"),
        ukey("dup-a"),
        ukey("plain"),
    }
    assert found[ukey("dup-a")].client_id == unlinked
    assert found[ukey("dup-a")].org_inn == "308888881"
    assert found[ukey("old-counterparty")].client_id == linked_elsewhere
    assert found[None].client_id == other_code
    after = {row.client_id: row.updated_at for row in await clients(runtime)}
    assert [after[client_id] for client_id in untouched] == [
        before[client_id] for client_id in untouched
    ]

    snapshot = await row_versions(runtime)
    again = await run(runtime)
    assert (again["inserted"], again["updated"], again["conflicts"]) == (0, 0, 4)
    assert await row_versions(runtime) == snapshot

    # A linked counterparty whose INN turns into another owner's: its owner stays as it was.
    change(onec, "plain", ИНН="301111111", Город="Самарканд")
    third = await run(runtime)
    assert (third["updated"], third["conflicts"]) == (0, 5)
    plain = (await owners(runtime))[ukey("plain")]
    assert (plain.org_inn, plain.city) == ("305555555", "Чирчик")


async def _wait_for_a_lock_wait(runtime: Runtime) -> None:
    """Until a statement of this database waits for a lock (the run meets the open request)."""
    for _ in range(400):
        async with runtime.database.transaction() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the run never met the request's uncommitted owners")


async def test_owners_a_request_saves_meanwhile_win_and_the_page_is_planned_again(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    """A request (`POST /api/clients`) saves owners with the codes a page is about to give:
    the page's statements wait for it, then the page is planned again from what it saved —
    the request's owner that has no counterparty yet is linked, the code it took is left to
    it — and the run ends well."""
    runtime = await start(runtime_factory, onec)
    put(onec, contractor("mover", code=700, inn="307777770"))
    await run(runtime)
    change(onec, "mover", КодАбонентаClobus=701)
    put(onec, contractor("newbie", code=702, inn="307777772"))

    async with runtime.database.transaction() as request:
        request.add(Client(is_parent=True, source="SITE", org_inn="307777771", code_abonent="701"))
        request.add(Client(is_parent=True, source="SITE", org_inn="307777772", code_abonent="702"))
        await request.flush()
        pulling = asyncio.ensure_future(run(runtime))
        await _wait_for_a_lock_wait(runtime)
    report = await pulling

    assert (report["inserted"], report["updated"], report["conflicts"]) == (0, 1, 1)
    found = await owners(runtime)
    assert found[ukey("mover")].code_abonent == "700"
    newbie = found[ukey("newbie")]
    assert (newbie.source, newbie.code_abonent) == ("SITE", "702")
    assert await client_count(runtime) == 3


async def test_deletion_marked_counterparties_are_neither_added_nor_removed(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    put(
        onec,
        contractor("kept", code=600, inn="306666666"),
        contractor("gone", code=601, inn="306666667", DeletionMark=True),
    )
    report = await run(runtime)
    assert (report["inserted"], report["deleted_in_onec"]) == (1, 1)
    assert set(await owners(runtime)) == {ukey("kept")}

    change(onec, "kept", DeletionMark=True, Город="Бухара")
    report = await run(runtime)
    assert (report["updated"], report["deleted_in_onec"]) == (0, 2)
    kept = (await owners(runtime))[ukey("kept")]
    assert kept.city == "Чирчик"


# --- consultations -------------------------------------------------------------------------


async def test_consultations_stored_before_their_owner_are_linked_and_shown_per_client(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    runtime = await start(runtime_factory, onec)
    moment = now()
    put(
        onec,
        contractor("romashka", code=100234, inn="302345678", company="ООО Ромашка"),
        contractor("stranger", code=9009, inn="309999999", folder=OTHER_FOLDER),
    )
    put_documents(
        onec,
        document("d1", "romashka", changed=moment - timedelta(days=3)),
        document("d2", "romashka", changed=moment - timedelta(days=2)),
    )
    # The consultations ETL ran first: it knew no owner of them yet.
    await PULL_CONS.run(runtime)
    async with runtime.database.transaction() as session:
        rows = (await session.scalars(select(Consultation))).all()
    assert {(row.client_key, row.client_id) for row in rows} == {(ukey("romashka"), None)}

    report = await run(runtime)

    assert report["linked"] == 2
    owner = (await owners(runtime))[ukey("romashka")]
    api = await client_factory(runtime)
    listed = await api.get(f"/api/consultations/clients/{owner.client_id}/consultations")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2
    assert {item["cons_id"] for item in page["items"]} == {
        f"cl_{key('d1')}",
        f"cl_{key('d2')}",
    }
    shown = (await api.get(f"/api/clients/{owner.client_id}")).json()
    assert (shown["company_name"], shown["cl_ref_key"], shown["source"]) == (
        "ООО Ромашка",
        key("romashka"),
        "ONEC",
    )
    by_code = await api.get("/api/clients/by-subscriber/100234")
    assert by_code.json()["client_id"] == str(owner.client_id)

    # Linked once: the next run finds nothing to link; documents that come later get their
    # owner from the consultations ETL itself.
    assert (await run(runtime))["linked"] == 0
    put_documents(onec, document("d3", "romashka", changed=moment - timedelta(hours=1)))
    await PULL_CONS.run(runtime)
    async with runtime.database.transaction() as session:
        later = await session.get(Consultation, f"cl_{key('d3')}")
    assert later is not None
    assert later.client_id == owner.client_id


async def test_the_demo_bases_consultations_are_all_visible_per_client(
    onec: RunningOneC, runtime_factory: Any, client_factory: Any
) -> None:
    demo = build_demo_data(consultations=80)
    onec.emulator.store.load(demo.onec)
    runtime = await start(runtime_factory, onec, ETL_INITIAL_FROM_DATE="2000-01-01")
    await PULL_CONS.run(runtime)
    report = await run(runtime)

    ours = [r for r in demo.onec[CONTRACTORS] if r["Parent_Key"] == FOLDER and not r["IsFolder"]]
    assert (report["rows"], report["inserted"], report["conflicts"]) == (len(ours), len(ours), 0)
    async with runtime.database.transaction() as session:
        rows = (await session.scalars(select(Consultation))).all()
    assert rows
    assert all(row.client_id is not None for row in rows)
    assert report["linked"] == len(rows)

    found = await owners(runtime)
    busiest = max(found.values(), key=lambda o: sum(r.client_id == o.client_id for r in rows))
    expected = sum(row.client_id == busiest.client_id for row in rows)
    api = await client_factory(runtime)
    page = (await api.get(f"/api/consultations/clients/{busiest.client_id}/consultations")).json()
    assert page["total"] == expected
    assert {item["client_key"] for item in page["items"]} == {str(busiest.cl_ref_key)}
    assert all(
        owner.company_name and "Clobus" not in owner.company_name for owner in found.values()
    )
