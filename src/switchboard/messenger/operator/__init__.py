"""The operator panel of the messenger: its JSON API and its pages (issue 8 item 3)."""
