"""lazy_property: computed once per instance, on first access, then a plain attribute."""

from __future__ import annotations

from cozegate.kit.lazy import lazy_property


class Payload:
    def __init__(self, data: str) -> None:
        self.data = data
        self.decodes = 0

    @lazy_property
    def decoded(self) -> str:
        """The data, decoded."""
        self.decodes += 1
        return self.data.upper()


def test_computed_once_per_instance_and_kept_in_its_dict() -> None:
    first, second = Payload("a"), Payload("b")
    assert (first.decoded, first.decoded, second.decoded) == ("A", "A", "B")
    assert (first.decodes, second.decodes) == (1, 1)
    assert first.__dict__["decoded"] == "A"


def test_the_class_sees_the_descriptor() -> None:
    assert isinstance(Payload.decoded, lazy_property)
    assert Payload.decoded.__doc__ == "The data, decoded."
