"""A customer's website, as the demo hosts it: the booking page that uses our front-end API.

It is not part of the platform — a real company has its own site (or the Telegram Mini App) —
but it shows, in a real browser, what seed 001's front does: the cascading dictionaries, the
available managers and the expected wait, the booking, and then the consultation's chat, live
from Chatwoot's public API, with redates, ratings and cancel.
"""
