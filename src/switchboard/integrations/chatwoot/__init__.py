"""Chatwoot: Public, Application and Platform APIs, and its webhooks."""
