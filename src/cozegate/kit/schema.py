"""``Schema``: the base of cozegate's pydantic models, built on first use.

pydantic builds each model's validator and serializer when the class is defined. A gateway
process imports about a hundred models (the OpenAI and Coze wire formats, the admin API, the
task API, run records) yet serves with a fraction of them; building the rest at import costs
resident memory for the life of the process (measured: ~0.5 MiB of the idle gateway).
``defer_build`` builds a model the first time it validates, serializes or renders its JSON
schema, which costs that one call a little time and changes nothing else.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    model_config = ConfigDict(defer_build=True)
