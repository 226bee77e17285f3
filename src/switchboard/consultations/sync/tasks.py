"""The outbox runner (filled in by the sync slice of issue 6)."""

from __future__ import annotations

import procrastinate

blueprint = procrastinate.Blueprint()
