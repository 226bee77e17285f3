"""The visitor's side of conversations: the widget's JSON API (bootstrap, messages)."""
