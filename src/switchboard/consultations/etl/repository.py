"""SQL of the ETL from 1C: set-based upserts, one statement per page and kind of row.

Every statement takes a page as one JSON document (read as a table on the server), writes only rows
whose content differs (`IS DISTINCT FROM`) and returns what it changed, with the values before
the change where the caller needs them for side effects. No statement reads or writes per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.consultations.models import ACCOUNTING, TERMINAL_STATUSES

Rows = Sequence[Mapping[str, Any]]

_TERMINAL = ", ".join(f"'{status}'" for status in TERMINAL_STATUSES)

#: A change owed to 1C that has not landed: 1C still holds the older state, so what the ETL
#: reads back must not overwrite ours (the next read after it lands brings 1C in step).
_ONEC_CHANGE_PENDING = """
    EXISTS (SELECT 1 FROM sys.outbox o
            WHERE o.cons_id = {row}.cons_id AND o.target = 'onec'
              AND o.status IN ('pending', 'failed'))
"""

#: The consultation has a Chatwoot conversation, or one is being opened.
_HAS_CHAT = """
    ({row}.chatwoot_conversation_id IS NOT NULL OR EXISTS (
        SELECT 1 FROM sys.outbox o
        WHERE o.cons_id = {row}.cons_id AND o.operation = 'chatwoot.open_conversation'
          AND o.status IN ('pending', 'failed')))
"""


# --- sys.sync_state --------------------------------------------------------------------------


async def cursor(session: AsyncSession, entity: str) -> datetime | None:
    """The latest moment `entity`'s ETL has fully processed, if it ever ran."""
    value: datetime | None = await session.scalar(
        text("SELECT last_synced_at FROM sys.sync_state WHERE entity_name = :entity"),
        {"entity": entity},
    )
    return value


async def advance_cursor(session: AsyncSession, entity: str, moment: datetime) -> bool:
    """Move `entity`'s cursor forward to `moment` (never back); False when it did not move.
    A cursor that stays where it is is neither written nor locked."""
    result = await session.execute(
        text(
            "WITH moved AS ("
            " UPDATE sys.sync_state SET last_synced_at = :moment, updated_at = now()"
            " WHERE entity_name = :entity"
            " AND (last_synced_at IS NULL OR last_synced_at < :moment) RETURNING 1),"
            " created AS ("
            " INSERT INTO sys.sync_state (entity_name, last_synced_at, updated_at)"
            " SELECT :entity, :moment, now()"
            " WHERE NOT EXISTS (SELECT 1 FROM sys.sync_state WHERE entity_name = :entity)"
            " ON CONFLICT DO NOTHING RETURNING 1)"
            " SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM created)"
        ),
        {"entity": entity, "moment": moment},
    )
    return bool(result.scalar_one())


async def last_complete_run(session: AsyncSession, job: str) -> datetime | None:
    """When the latest run of `job` that ended well started."""
    value: datetime | None = await session.scalar(
        text("SELECT max(started_at) FROM sys.etl_runs WHERE job = :job AND status = 'ok'"),
        {"job": job},
    )
    return value


# --- cons.cons -------------------------------------------------------------------------------

_CONSULTATION_COLUMNS = (
    ("ref_key", "uuid"),
    ("number", "text"),
    ("client_key", "uuid"),
    ("manager", "uuid"),
    ("author", "uuid"),
    ("create_date", "timestamptz"),
    ("start_date", "timestamptz"),
    ("end_date", "timestamptz"),
    ("status", "text"),
    ("denied", "boolean"),
    ("deleted", "boolean"),
    ("lang", "text"),
    ("category", "uuid"),
    ("question", "uuid"),
    ("topic", "text"),
    ("description", "text"),
    ("con_blocks", "uuid"),
    ("changed_at", "timestamptz"),
)


def _records(columns: Sequence[tuple[str, str]], alias: str) -> str:
    """The page's rows, sent as one JSON document (`:rows`) and read back as a table: one bind
    parameter per page, serialized in C (a Python array adapter costs several µs a value)."""
    listed = ", ".join(f"{name} {kind}" for name, kind in columns)
    table = f"json_to_recordset(CAST(:rows AS json)) AS {alias}({listed})"
    return "SELECT * FROM " + table  # noqa: S608 - module constants


def _keys(parameter: str) -> str:
    """A JSON array of keys (`:<parameter>`) as a set of uuids."""
    elements = f"json_array_elements_text(CAST(:{parameter} AS json)) AS k"
    return "SELECT CAST(k AS uuid) FROM " + elements  # noqa: S608 - module constants


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


#: What a consultation's registers add up to (`con_calls`, `con_rates`), for document `{key}`.
_CALLS_OF = """(
    SELECT jsonb_agg(jsonb_build_object(
               'period', to_char(k.period AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'manager', k.manager)
           ORDER BY k.period, k.manager)
    FROM cons.calls k WHERE k.cons_key = {key})"""
#: As the booking writes it: {average, count}.
_RATES_OF = """(
    SELECT jsonb_build_object('average', round(avg(a.rating)::numeric, 2), 'count', count(*))
    FROM cons.cons_rating_answers a WHERE a.cons_key = {key} HAVING count(*) > 0)"""


#: The columns the ETL keeps in step with 1C, and how each is decided from our row (`l`) and 1C's
#: record (`i`): 1C is the word on what its managers did (manager, dates, status), our row keeps
#: what 1C may not know (a client's own words, a terminal status, the consultation type).
_DESIRED = {
    "number": "COALESCE(i.number, l.number)",
    "client_key": "COALESCE(i.client_key, l.client_key)",
    "client_id": "COALESCE(l.client_id, cl.client_id)",
    # 1C's empty manager never clears ours.
    "manager": "COALESCE(i.manager, l.manager)",
    "author": "COALESCE(i.author, l.author)",
    "create_date": "COALESCE(l.create_date, i.create_date)",
    "start_date": "COALESCE(i.start_date, l.start_date)",
    "end_date": f"CASE WHEN l.status IN ({_TERMINAL}) THEN COALESCE(i.end_date, l.end_date) "
    "ELSE i.end_date END",
    # A terminal status is final: 1C never reopens what we closed or cancelled.
    "status": f"CASE WHEN l.status IN ({_TERMINAL}) THEN l.status ELSE i.status END",
    "denied": f"CASE WHEN l.status IN ({_TERMINAL}) THEN l.denied ELSE i.denied END",
    "lang": "COALESCE(i.lang, l.lang)",
    "online_question_cat": "COALESCE(i.category, l.online_question_cat)",
    "online_question": "COALESCE(i.question, l.online_question)",
    # Booked consultations keep the client's own topic and comment; 1C's rows follow 1C.
    "topic": "CASE WHEN l.source = 'ONEC' THEN i.topic ELSE COALESCE(l.topic, i.topic) END",
    "comment": "CASE WHEN l.source = 'ONEC' THEN i.description "
    "ELSE COALESCE(l.comment, i.description) END",
    "con_blocks": "i.con_blocks",
    "consultation_type": f"COALESCE(l.consultation_type, '{ACCOUNTING}')",
}
#: What Chatwoot shows of a consultation (conversation custom attributes).
_ATTRIBUTES = ("number", "start_date", "end_date", "redate", "redate_time", "consultation_type")


def _upsert_consultations_sql() -> str:
    desired = ",\n".join(f"{expression} AS {name}" for name, expression in _DESIRED.items())
    assigned = ", ".join(f"{name} = d.{name}" for name in _DESIRED)
    current = ", ".join(f"t.{name}" for name in _DESIRED)
    wanted = ", ".join(f"d.{name}" for name in _DESIRED)
    old_attributes = ", ".join(f"d.old_{name}" for name in (*_ATTRIBUTES, "denied"))
    new_attributes = ", ".join(f"t.{name}" for name in (*_ATTRIBUTES, "denied"))
    olds = ", ".join(f"l.{name} AS old_{name}" for name in (*_ATTRIBUTES, "denied"))
    ours = ", ".join(f"l.{name}" for name in _DESIRED)
    theirs = ", ".join(_DESIRED.values())
    our_client = "(NOT :all_subscribers OR cl.client_id IS NOT NULL OR k.client_key IS NOT NULL)"
    return f"""
WITH incoming AS ({_records(_CONSULTATION_COLUMNS, "i")}),
-- Subscribers the read of our own clients has brought documents of (`cl_` rows).
known_ours AS (
    SELECT DISTINCT o.client_key FROM cons.cons o
    WHERE :all_subscribers AND o.client_key IN (SELECT client_key FROM incoming)
      AND NOT starts_with(o.cons_id, 'cl_all_')
),
-- Rows that look different, found without locking: a run over unchanged data locks and writes
-- nothing. Only these are locked, then compared again as they are once locked.
differing AS (
    SELECT l.cons_id FROM cons.cons l
    JOIN incoming i ON i.ref_key = l.cl_ref_key
    LEFT JOIN cons.clients cl ON cl.cl_ref_key = i.client_key
    WHERE ({ours}) IS DISTINCT FROM ({theirs})
),
locked AS MATERIALIZED (
    SELECT c.* FROM cons.cons c
    WHERE c.cons_id IN (SELECT cons_id FROM differing)
      AND NOT {_ONEC_CHANGE_PENDING.format(row="c")}
    ORDER BY c.cons_id
    FOR NO KEY UPDATE OF c
),
desired AS (
    SELECT l.cons_id, l.status AS old_status, l.manager AS old_manager, i.deleted, {olds},
           {desired}
    FROM locked l
    JOIN incoming i ON i.ref_key = l.cl_ref_key
    LEFT JOIN cons.clients cl ON cl.cl_ref_key = i.client_key
),
updated AS (
    UPDATE cons.cons t SET {assigned}, updated_at = now()
    FROM desired d
    WHERE t.cons_id = d.cons_id AND ({current}) IS DISTINCT FROM ({wanted})
    RETURNING t.cons_id, t.cl_ref_key, t.status, t.manager, t.lang, d.old_status, d.old_manager,
              d.deleted,
              ({old_attributes}) IS DISTINCT FROM ({new_attributes}) AS attributes_changed,
              {_HAS_CHAT.format(row="t")} AS has_chat
),
inserted AS (
    INSERT INTO cons.cons AS t (
        cons_id, cl_ref_key, number, client_id, client_key, status, consultation_type, manager,
        author, create_date, start_date, end_date, denied, source, lang, online_question_cat,
        online_question, topic, comment, con_blocks, con_calls, con_rates)
    SELECT CASE WHEN {our_client} THEN 'cl_' ELSE 'cl_all_' END || i.ref_key::text,
           i.ref_key, i.number, cl.client_id, i.client_key,
           i.status, '{ACCOUNTING}', i.manager, i.author, i.create_date, i.start_date,
           i.end_date, i.denied, 'ONEC', i.lang, i.category, i.question, i.topic, i.description,
           i.con_blocks,
           -- Registers read before their document arrived.
           {_CALLS_OF.format(key="i.ref_key")}, {_RATES_OF.format(key="i.ref_key")}
    FROM incoming i
    LEFT JOIN cons.clients cl ON cl.cl_ref_key = i.client_key
    LEFT JOIN known_ours k ON k.client_key = i.client_key
    WHERE NOT EXISTS (SELECT 1 FROM cons.cons c WHERE c.cl_ref_key = i.ref_key)
      -- Reading every subscriber, a document of a subscriber we cannot place yet waits until
      -- the read of our own clients has passed its moment: then it is not ours.
      AND ({our_client} OR i.changed_at <= CAST(:settled AS timestamptz))
    ORDER BY i.ref_key
    ON CONFLICT DO NOTHING
    RETURNING t.cons_id, t.status
),
history AS (
    INSERT INTO cons.status_history (cons_id, old_status, new_status, source)
    SELECT cons_id, old_status, status, 'etl' FROM updated WHERE old_status <> status
    UNION ALL
    SELECT cons_id, NULL, status, 'etl' FROM inserted
)
-- One row at least: the count of inserted rows, then each updated row (the inserted ones are
-- only counted: nothing outside knows them yet, and reading them back would cost).
SELECT (SELECT count(*) FROM inserted), u.cons_id, u.cl_ref_key, u.status, u.manager, u.lang,
       u.old_status, u.old_manager, u.deleted, u.attributes_changed, u.has_chat
FROM (SELECT 1) AS one LEFT JOIN updated u ON true
"""  # noqa: S608 - module constants, no outside values


_UPSERT_CONSULTATIONS = text(_upsert_consultations_sql())


@dataclass(frozen=True, slots=True)
class ConsultationChange:
    """A consultation row the ETL changed, with what it was before."""

    cons_id: str
    ref_key: uuid.UUID
    status: str
    manager: uuid.UUID | None
    lang: str | None
    old_status: str | None
    old_manager: uuid.UUID | None
    #: 1C marked the document deleted.
    deleted: bool
    #: Number, dates, type or "closed without consultation" changed (Chatwoot shows them).
    attributes_changed: bool
    has_chat: bool


async def upsert_consultations(
    session: AsyncSession, rows: Rows, *, all_subscribers: bool, settled: datetime | None = None
) -> tuple[int, list[ConsultationChange]]:
    """Insert documents we do not have and update the rows that differ from 1C; returns how
    many were inserted, and the updated rows.

    New rows are `cl_<Ref_Key>`. With `all_subscribers` (the read of every subscriber), a new
    document is ours (`cl_`) when its subscriber is a client we know or one the read of our
    own clients brought; else it is another subscriber's (`cl_all_`) only if it changed before
    `settled` (the cursor of the read of our own clients, which has then seen all of ours up
    to that moment). Later ones wait for a later run, so both reads never make two rows or
    mislabel one.

    Only rows that differ are locked, in `cons_id` order (`FOR NO KEY UPDATE`: a row's key never
    changes, so inserts that refer to it are not held up), and new rows are inserted in key
    order: jobs over overlapping rows wait for each other instead of deadlocking. A row with a
    change owed to 1C is left alone (1C does not have our change yet)."""
    result = await session.execute(
        _UPSERT_CONSULTATIONS,
        {"rows": _json(rows), "all_subscribers": all_subscribers, "settled": settled},
    )
    found = result.all()
    inserted = int(found[0][0])
    return inserted, [ConsultationChange(*row[1:]) for row in found if row[1] is not None]


_LINE_COLUMNS = (
    ("ref_key", "uuid"),
    ("line_number", "integer"),
    ("po_type_key", "uuid"),
    ("po_section_key", "uuid"),
    ("interference_key", "uuid"),
    ("manager_help_key", "uuid"),
    ("repeat_request", "boolean"),
    ("question", "text"),
    ("answer", "text"),
)
_LINE_CONTENT = [name for name, _ in _LINE_COLUMNS if name not in ("ref_key", "line_number")]

_SYNC_LINES = text(
    f"""
WITH lines AS ({_records(_LINE_COLUMNS, "l")}),
owners AS (
    SELECT c.cons_id, c.cl_ref_key FROM cons.cons c
    WHERE c.cl_ref_key IN ({_keys("documents")})
),
removed AS (
    DELETE FROM cons.q_and_a q USING owners o
    WHERE q.cons_id = o.cons_id AND q.line_number IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM lines l WHERE l.ref_key = o.cl_ref_key AND l.line_number = q.line_number)
    RETURNING q.id
),
saved AS (
    INSERT INTO cons.q_and_a AS q (cons_id, line_number, {", ".join(_LINE_CONTENT)})
    SELECT o.cons_id, l.line_number, {", ".join("l." + name for name in _LINE_CONTENT)}
    FROM lines l JOIN owners o ON o.cl_ref_key = l.ref_key
    -- Lines we hold as they are never reach the upsert (which would lock them).
    WHERE NOT EXISTS (
        SELECT 1 FROM cons.q_and_a same
        WHERE same.cons_id = o.cons_id AND same.line_number = l.line_number
          AND ({", ".join("same." + name for name in _LINE_CONTENT)})
              IS NOT DISTINCT FROM ({", ".join("l." + name for name in _LINE_CONTENT)}))
    ORDER BY o.cons_id, l.line_number
    ON CONFLICT (cons_id, line_number) DO UPDATE
    SET {", ".join(f"{name} = excluded.{name}" for name in _LINE_CONTENT)}
    WHERE ({", ".join("q." + name for name in _LINE_CONTENT)})
          IS DISTINCT FROM ({", ".join("excluded." + name for name in _LINE_CONTENT)})
    RETURNING q.id
)
SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM saved)
"""  # noqa: S608 - module constants, no outside values
)


async def sync_question_lines(
    session: AsyncSession, documents: Sequence[uuid.UUID], lines: Rows
) -> int:
    """Make the 1C lines (`line_number` set) of these documents' consultations exactly `lines`;
    chat messages stored beside them are left alone. Returns the rows written or removed."""
    result = await session.execute(
        _SYNC_LINES, {"rows": _json(lines), "documents": _json(documents)}
    )
    return int(result.scalar_one())


async def open_consultation_keys(session: AsyncSession) -> list[uuid.UUID]:
    """The 1C keys of consultations not in a terminal status and with no change owed to 1C."""
    rows = await session.scalars(
        text(
            "SELECT c.cl_ref_key FROM cons.cons c "  # noqa: S608 - module constants
            f"WHERE c.cl_ref_key IS NOT NULL AND c.status NOT IN ({_TERMINAL}) "
            f"AND NOT {_ONEC_CHANGE_PENDING.format(row='c')} "
            "ORDER BY c.cl_ref_key"
        )
    )
    return list(rows)


_CANCEL_MISSING = text(
    f"""
WITH locked AS MATERIALIZED (
    SELECT c.cons_id, c.status FROM cons.cons c
    WHERE c.cl_ref_key IN ({_keys("keys")}) AND c.status NOT IN ({_TERMINAL})
      AND NOT {_ONEC_CHANGE_PENDING.format(row="c")}
    ORDER BY c.cons_id
    FOR NO KEY UPDATE OF c
),
cancelled AS (
    UPDATE cons.cons t SET status = 'cancelled', updated_at = now()
    FROM locked l WHERE t.cons_id = l.cons_id
    RETURNING t.cons_id, t.cl_ref_key, t.status, t.manager, t.lang, l.status AS old_status,
              {_HAS_CHAT.format(row="t")} AS has_chat
),
history AS (
    INSERT INTO cons.status_history (cons_id, old_status, new_status, source)
    SELECT cons_id, old_status, status, 'etl' FROM cancelled
)
SELECT cons_id, cl_ref_key, status, manager, lang, old_status, manager, true, false, has_chat
FROM cancelled
"""  # noqa: S608 - module constants, no outside values
)


async def cancel_missing(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> list[ConsultationChange]:
    """Cancel the live consultations whose 1C documents are gone (1C no longer has the keys)."""
    result = await session.execute(_CANCEL_MISSING, {"keys": _json(keys)})
    return [ConsultationChange(*row) for row in result.all()]


# --- what the registers add up to on a consultation --------------------------------------------


def _refresh_sql(column: str, total: str, selection: str) -> str:
    """Set `column` of the selected consultations to `total` (an expression of the document
    key `c.cl_ref_key`) where it differs. Only rows that change are locked, in key order (as
    every ETL statement locks them), so jobs running at once wait rather than deadlock."""
    return f"""
WITH wanted AS (
    SELECT c.cons_id, {total} AS total FROM cons.cons c WHERE {selection}
),
locked AS MATERIALIZED (
    SELECT t.cons_id FROM cons.cons t JOIN wanted w ON w.cons_id = t.cons_id
    WHERE t.{column} IS DISTINCT FROM w.total
    ORDER BY t.cons_id
    FOR NO KEY UPDATE OF t
)
UPDATE cons.cons t SET {column} = w.total, updated_at = now()
FROM wanted w
WHERE t.cons_id = w.cons_id AND t.cons_id IN (SELECT cons_id FROM locked)
  AND t.{column} IS DISTINCT FROM w.total
RETURNING t.cons_id
"""  # noqa: S608 - module constants, no outside values


_OF_KEYS = f"c.cl_ref_key IN ({_keys('keys')})"
#: Consultations created lately: one made while a register job was storing its rows did not see
#: them, nor did that job see it (neither had committed); a later run puts them together.
_RECENT = "c.created_at >= CAST(:since AS timestamptz) AND c.cl_ref_key IS NOT NULL"
_CALLS = _CALLS_OF.format(key="c.cl_ref_key")
_RATES = _RATES_OF.format(key="c.cl_ref_key")
_REFRESH_CALLS = text(_refresh_sql("con_calls", _CALLS, _OF_KEYS))
_REFRESH_RATES = text(_refresh_sql("con_rates", _RATES, _OF_KEYS))
_REFRESH_RECENT_CALLS = text(_refresh_sql("con_calls", _CALLS, _RECENT))
_REFRESH_RECENT_RATES = text(_refresh_sql("con_rates", _RATES, _RECENT))


async def refresh_calls(session: AsyncSession, keys: Sequence[uuid.UUID]) -> int:
    """`con_calls` of these documents' consultations from `cons.calls` (only where it differs)."""
    if not keys:
        return 0
    return len((await session.execute(_REFRESH_CALLS, {"keys": _json(keys)})).all())


async def refresh_rates(session: AsyncSession, keys: Sequence[uuid.UUID]) -> int:
    """`con_rates` ({average, count}, as the booking writes it) of these documents'
    consultations."""
    if not keys:
        return 0
    return len((await session.execute(_REFRESH_RATES, {"keys": _json(keys)})).all())


async def refresh_recent_calls(session: AsyncSession, since: datetime) -> int:
    """`con_calls` of the consultations created since `since`, where it differs."""
    return len((await session.execute(_REFRESH_RECENT_CALLS, {"since": since})).all())


async def refresh_recent_rates(session: AsyncSession, since: datetime) -> int:
    """`con_rates` of the consultations created since `since`, where it differs."""
    return len((await session.execute(_REFRESH_RECENT_RATES, {"since": since})).all())


# --- registers ---------------------------------------------------------------------------------

_REDATE_COLUMNS = (
    ("cons_key", "uuid"),
    ("clients_key", "uuid"),
    ("manager_key", "uuid"),
    ("period", "timestamptz"),
    ("old_date", "timestamptz"),
    ("new_date", "timestamptz"),
    ("comment", "text"),
)

_UPSERT_REDATES = text(
    f"""
WITH incoming AS ({_records(_REDATE_COLUMNS, "i")}),
saved AS (
    INSERT INTO cons.cons_redate AS r
        (cons_key, clients_key, manager_key, period, old_date, new_date, comment)
    SELECT * FROM incoming i
    WHERE NOT EXISTS (
        SELECT 1 FROM cons.cons_redate same
        WHERE same.cons_key = i.cons_key AND same.period = i.period
          AND same.clients_key IS NOT DISTINCT FROM i.clients_key
          AND same.manager_key IS NOT DISTINCT FROM i.manager_key
          AND (same.old_date, same.new_date, same.comment)
              IS NOT DISTINCT FROM (i.old_date, i.new_date, i.comment))
    ORDER BY cons_key, period
    ON CONFLICT (cons_key, clients_key, manager_key, period) DO UPDATE
    SET old_date = excluded.old_date, new_date = excluded.new_date, comment = excluded.comment
    WHERE (r.old_date, r.new_date, r.comment)
          IS DISTINCT FROM (excluded.old_date, excluded.new_date, excluded.comment)
    RETURNING r.cons_key, r.manager_key, r.period, r.old_date, r.new_date, (r.xmax = 0) AS new
)
SELECT s.new, s.cons_key, s.manager_key, s.period, s.old_date, s.new_date, c.cons_id, c.lang,
       COALESCE({_HAS_CHAT.format(row="c")}, false)
FROM saved s LEFT JOIN cons.cons c ON c.cl_ref_key = s.cons_key
ORDER BY s.period, s.cons_key
"""  # noqa: S608 - module constants, no outside values
)


@dataclass(frozen=True, slots=True)
class SavedRedate:
    new: bool
    cons_key: uuid.UUID
    manager_key: uuid.UUID | None
    period: datetime
    old_date: datetime | None
    new_date: datetime | None
    #: The consultation it moves, when we have it.
    cons_id: str | None
    lang: str | None
    has_chat: bool


async def upsert_redates(session: AsyncSession, rows: Rows) -> list[SavedRedate]:
    """Store redates by their 1C key (document, subscriber, manager, moment); returns the ones
    that were new or changed."""
    result = await session.execute(_UPSERT_REDATES, {"rows": _json(rows)})
    return [SavedRedate(*row) for row in result.all()]


_APPLY_LATEST_REDATES = text(
    f"""
WITH latest AS (
    SELECT DISTINCT ON (r.cons_key) r.cons_key, r.new_date
    FROM cons.cons_redate r
    WHERE r.cons_key IN ({_keys("keys")}) AND r.new_date IS NOT NULL
    ORDER BY r.cons_key, r.period DESC, r.id DESC
),
wanted AS (
    SELECT c.cons_id, l.new_date,
           (l.new_date AT TIME ZONE :zone)::date AS redate,
           (l.new_date AT TIME ZONE :zone)::time(0) AS redate_time
    FROM latest l JOIN cons.cons c ON c.cl_ref_key = l.cons_key
    ORDER BY c.cons_id
    FOR NO KEY UPDATE OF c
)
UPDATE cons.cons t
SET start_date = w.new_date, redate = w.redate, redate_time = w.redate_time, updated_at = now()
FROM wanted w
WHERE t.cons_id = w.cons_id
  AND (t.start_date, t.redate, t.redate_time)
      IS DISTINCT FROM (w.new_date, w.redate, w.redate_time)
RETURNING t.cons_id, {_HAS_CHAT.format(row="t")}
"""  # noqa: S608 - module constants, no outside values
)


async def apply_latest_redates(
    session: AsyncSession, keys: Sequence[uuid.UUID], *, zone: str
) -> list[tuple[str, bool]]:
    """Move these documents' consultations to the new date of their latest redate (`redate`
    and `redate_time` in the 1C base's zone); returns (cons_id, has_chat) of those that moved."""
    if not keys:
        return []
    result = await session.execute(_APPLY_LATEST_REDATES, {"keys": _json(keys), "zone": zone})
    return [(str(cons_id), bool(has_chat)) for cons_id, has_chat in result.all()]


_RATING_COLUMNS = (
    ("cons_key", "uuid"),
    ("client_key", "uuid"),
    ("manager_key", "uuid"),
    ("question_number", "integer"),
    ("rating", "integer"),
    ("question", "text"),
    ("comment", "text"),
    ("sent_to_base", "boolean"),
    ("rating_date", "timestamptz"),
)
_RATING_CONTENT = ("client_key", "rating", "question", "comment", "sent_to_base")

_UPSERT_RATINGS = text(
    f"""
WITH incoming AS ({_records(_RATING_COLUMNS, "i")}),
saved AS (
    INSERT INTO cons.cons_rating_answers AS a
        (cons_key, client_key, manager_key, question_number, rating, question, comment,
         sent_to_base, rating_date)
    SELECT * FROM incoming i
    WHERE NOT EXISTS (
        SELECT 1 FROM cons.cons_rating_answers same
        WHERE same.cons_key = i.cons_key AND same.manager_key = i.manager_key
          AND same.question_number = i.question_number
          AND ({", ".join("same." + name for name in _RATING_CONTENT)}, same.rating_date)
              IS NOT DISTINCT FROM ({", ".join("i." + name for name in _RATING_CONTENT)},
                                    COALESCE(i.rating_date, same.rating_date)))
    ORDER BY cons_key, manager_key, question_number
    ON CONFLICT (cons_key, manager_key, question_number) DO UPDATE
    SET {", ".join(f"{name} = excluded.{name}" for name in _RATING_CONTENT)},
        rating_date = COALESCE(excluded.rating_date, a.rating_date)
    WHERE ({", ".join("a." + name for name in _RATING_CONTENT)}, a.rating_date)
          IS DISTINCT FROM ({", ".join("excluded." + name for name in _RATING_CONTENT)},
                            COALESCE(excluded.rating_date, a.rating_date))
    RETURNING a.cons_key, a.manager_key, a.question_number, a.rating, a.question,
              (a.xmax = 0) AS new
)
SELECT s.new, s.cons_key, s.manager_key, s.question_number, s.rating, s.question, c.cons_id,
       c.lang, COALESCE({_HAS_CHAT.format(row="c")}, false)
FROM saved s LEFT JOIN cons.cons c ON c.cl_ref_key = s.cons_key
ORDER BY s.cons_key, s.question_number, s.manager_key
"""  # noqa: S608 - module constants, no outside values
)


@dataclass(frozen=True, slots=True)
class SavedRating:
    new: bool
    cons_key: uuid.UUID
    manager_key: uuid.UUID
    question_number: int
    rating: int
    question: str | None
    cons_id: str | None
    lang: str | None
    has_chat: bool


async def upsert_ratings(session: AsyncSession, rows: Rows) -> list[SavedRating]:
    """Store rating answers by (document, manager, question); returns the new or changed ones.
    A rating date 1C holds as empty (old records) never clears one we know."""
    result = await session.execute(_UPSERT_RATINGS, {"rows": _json(rows)})
    return [SavedRating(*row) for row in result.all()]


_CALL_COLUMNS = (
    ("period", "timestamptz"),
    ("cons_key", "uuid"),
    ("manager", "uuid"),
    ("client_key", "uuid"),
)

_INSERT_CALLS = text(
    f"""
WITH incoming AS ({_records(_CALL_COLUMNS, "i")}),
saved AS (
    INSERT INTO cons.calls AS k (period, cons_key, manager, client_key)
    SELECT * FROM incoming ORDER BY cons_key, period, manager
    ON CONFLICT DO NOTHING
    RETURNING k.period, k.cons_key, k.manager
)
SELECT s.period, s.cons_key, s.manager, c.cons_id, c.lang,
       COALESCE({_HAS_CHAT.format(row="c")}, false)
FROM saved s LEFT JOIN cons.cons c ON c.cl_ref_key = s.cons_key
ORDER BY s.period, s.cons_key
"""  # noqa: S608 - module constants, no outside values
)


@dataclass(frozen=True, slots=True)
class SavedCall:
    period: datetime
    cons_key: uuid.UUID
    manager: uuid.UUID
    cons_id: str | None
    lang: str | None
    has_chat: bool


async def insert_calls(session: AsyncSession, rows: Rows) -> list[SavedCall]:
    """Store call attempts we do not have yet; returns the new ones."""
    result = await session.execute(_INSERT_CALLS, {"rows": _json(rows)})
    return [SavedCall(*row) for row in result.all()]


# --- reads for the messages ----------------------------------------------------------------


async def manager_names(session: AsyncSession, keys: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names (`cons.users.description`) of the managers with these 1C keys we know."""
    if not keys:
        return {}
    rows = await session.execute(
        text(
            "SELECT cl_ref_key, description FROM cons.users "
            "WHERE cl_ref_key = ANY(CAST(:keys AS uuid[])) AND description IS NOT NULL"
        ),
        {"keys": list(set(keys))},
    )
    return {key: str(name) for key, name in rows.all()}
