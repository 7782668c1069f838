"""``lazy_property``: ``functools.cached_property`` without its lock.

On Python 3.11, ``functools.cached_property`` takes an RLock around every first computation
(Python 3.12 dropped the lock: it serialised all instances and protected nothing). The relay
decodes a cached payload on each of the thousands of upstream events per second it streams,
so that is a lock taken and released per event for nothing (a small cost: about 0.3% of the
instructions of a streamed call, measured with callgrind). This is 3.12's version: computed
on first access, then stored in the instance ``__dict__``, where later lookups find it
without calling the descriptor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class lazy_property(Generic[T]):
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value
