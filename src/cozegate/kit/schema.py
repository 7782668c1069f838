"""``Schema``: a pydantic base for models built on first use rather than at import.

pydantic builds each model's validator and serializer when the class is defined. The Coze
wire models (``protocol.coze*``) are many and a gateway process uses few of them (most
serve one Coze endpoint each); ``defer_build`` builds a model the first time it validates,
serializes or renders its JSON schema, which costs that one call a little time and changes
nothing else.

Models FastAPI uses for request bodies or responses stay plain ``BaseModel``: FastAPI wraps
them in adapters built (and their pydantic warnings silenced) when routes are declared, and
a deferred model would be built later, outside that, at the first request.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    model_config = ConfigDict(defer_build=True)
