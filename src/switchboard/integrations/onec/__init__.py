"""1C:ЦЛ through its standard OData interface (OData v3, Basic auth, no webhooks)."""
