"""The running core shared by the HTTP routes and the Python helpers: state plus webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from switchboard.sandbox.chatwoot.operations import Actor, Operation
from switchboard.sandbox.chatwoot.store import Store
from switchboard.sandbox.chatwoot.webhooks import WebhookDispatcher


@dataclass
class Engine:
    store: Store
    webhooks: WebhookDispatcher

    @contextmanager
    def operation(self, actor: Actor) -> Iterator[Operation]:
        """Run one change under the lock; its events go out only if it completes."""
        with self.store.lock:
            op = Operation(self.store, actor)
            yield op
        self.webhooks.publish(op.events)

    @property
    def sign_webhooks(self) -> bool:
        return self.webhooks.sign_webhooks
