"""Values in a `$filter` go through literal functions and cannot break out of their quotes."""

from __future__ import annotations

from typing import Any

from switchboard.integrations.onec import odata
from switchboard.integrations.onec.adapter import OneCAdapter
from switchboard.runtime import Runtime
from switchboard.sandbox.pytest_plugin import RunningOneC

KINDS = "Catalog_ВидыПОДляКонсультаций"


async def test_a_quote_in_a_text_value_stays_inside_the_literal(
    onec: RunningOneC, runtime_factory: Any
) -> None:
    onec.emulator.store.put(KINDS, {"Description": "O'Reilly"})
    onec.emulator.store.put(KINDS, {"Description": "Другое"})
    runtime: Runtime = await runtime_factory(**onec.settings())
    adapter = runtime.adapters.reference_source
    assert isinstance(adapter, OneCAdapter)

    async def named(value: str) -> list[str]:
        found = await adapter.client.query(
            KINDS, filter=f"Description eq {odata.string(value)}", select="Description"
        )
        return [record["Description"] for record in found]

    assert await named("O'Reilly") == ["O'Reilly"]
    # An attempt to widen the filter is just a name that nothing has.
    assert await named("x' or Description ne 'x") == []
