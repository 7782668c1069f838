"""Admin endpoints, one module per resource; :mod:`cozegate.admin.router` assembles them."""
