"""The admin JSON API (``/api/admin``): channels, users, groups, balances, keys, prices, usage.

Thin endpoints over the domain services; one short transaction per request, committed by a
dependency (:mod:`cozegate.admin.deps`). Only keys whose user is an admin get in.
"""
