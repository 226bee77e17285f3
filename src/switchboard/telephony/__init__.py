"""Telephony (seed 003): Asterisk call events into CRMs, click-to-call, call notifications."""
