"""Every outbox operation of the consultations domain, by name (see `sync/operations.py`)."""

from __future__ import annotations

from switchboard.consultations.notifications.operations import OPERATIONS as NOTIFICATIONS
from switchboard.consultations.sync.operations import Operation

OPERATIONS: dict[str, Operation] = {operation.name: operation for operation in (*NOTIFICATIONS,)}
