"""SQLAlchemy tables, one per module. Importing this package registers them all on
``Base.metadata`` (Alembic's env.py relies on that).

Room for later tables: ``runs`` (persisted workflow runs, referencing ``reservations.request_id``,
``api_keys.id`` and ``channels.id``) and ``tasks`` (leased background runs) go in
``run.py`` / ``task.py`` beside these, each with its own migration.
"""

from cozegate.models.api_key import ApiKey
from cozegate.models.base import Base
from cozegate.models.channel import Channel
from cozegate.models.channel_event import ChannelEvent
from cozegate.models.coze_conversation import CozeConversation
from cozegate.models.group import Group
from cozegate.models.ledger_entry import LedgerEntry
from cozegate.models.pending_interrupt import PendingInterrupt
from cozegate.models.price import Price
from cozegate.models.reservation import Reservation
from cozegate.models.run import Run
from cozegate.models.task import Task
from cozegate.models.task_event import TaskEvent
from cozegate.models.usage_log import UsageLog
from cozegate.models.user import User

__all__ = [
    "ApiKey",
    "Base",
    "Channel",
    "ChannelEvent",
    "CozeConversation",
    "Group",
    "LedgerEntry",
    "PendingInterrupt",
    "Price",
    "Reservation",
    "Run",
    "Task",
    "TaskEvent",
    "UsageLog",
    "User",
]
