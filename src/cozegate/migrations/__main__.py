"""``python -m cozegate.migrations``: upgrade the database named by $COZEGATE_MIGRATE_URL to
head (the child process of ``migrations.current.ensure_migrated``)."""

from __future__ import annotations

import asyncio
import os

from cozegate.migrations.current import URL_ENV
from cozegate.migrations.runner import upgrade_database

if __name__ == "__main__":
    asyncio.run(upgrade_database(os.environ[URL_ENV]))
