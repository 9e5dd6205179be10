"""The tamper-evident ledger (防篡改账本): see ``service`` for the API other capabilities call."""
