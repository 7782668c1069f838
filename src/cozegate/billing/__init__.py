"""Prices, reservations, settlement, the ledger and the usage log."""
