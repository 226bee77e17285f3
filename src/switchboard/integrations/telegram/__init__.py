"""Telegram: call notifications posted by a bot to an enterprise's chats (seed 003: "the event
service sends to Telegram").

- `client.py` speaks the Bot API (`sendMessage`, `editMessageText`, `getMe`) through the adapter
  kit, with the bot token masked wherever a URL or an error could show it;
- `texts.py` writes the Russian text of a call's message for each state of the call;
- `adapter.py` is the `CallCrm` named `telegram`: one message per call per chat, sent on the
  call's first event and edited as the call moves on.
"""
