"""Every outbox operation of the consultations domain, by name (see `sync/operations.py`)."""

from __future__ import annotations

from switchboard.consultations.booking.operations import OPERATIONS as BOOKING
from switchboard.consultations.clients.operations import OPERATIONS as CLIENTS
from switchboard.consultations.notifications.operations import OPERATIONS as NOTIFICATIONS
from switchboard.consultations.sync.operations import Operation

OPERATIONS: dict[str, Operation] = {
    operation.name: operation for operation in (*NOTIFICATIONS, *CLIENTS, *BOOKING)
}
