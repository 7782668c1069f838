"""The task service (seed 004): workflows and chat flows run in the background, kept, billed.

``endpoints`` (HTTP, ``/api/coze``) → ``service.TaskManager`` (submit, get, list, cancel,
stats) → ``store.TaskStore`` (each change one short transaction; ending = guarded transition
+ settle) → ``repository`` (queries, guarded UPDATEs). In the background, per process,
``worker.TaskWorker`` renews leases, reaps overdue tasks, claims free ones, settles what a
crash left unsettled and sends callbacks (``callbacks``); ``driver.TaskDriver`` drives one
task (async run + polling), ``holding.StreamHolder`` a held stream; ``outcome`` reads how a
run ended. ``setup.build_task_manager`` assembles it for the runtime. docs/tasks.md is the
user's guide.
"""
