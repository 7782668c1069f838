"""Which addresses a user-supplied callback URL may reach."""

from __future__ import annotations

import pytest

from cozegate.kit.netguard import UnsafeURL, check_public_url, is_public_address


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("0.0.0.0", False), ("100.64.0.1", False), ("::1", False),
    ("fe80::1%eth0", False), ("fd00::1", False), ("::ffff:10.0.0.1", False),
    ("224.0.0.1", False),
])
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize("url", ["ftp://8.8.8.8/x", "http:///nohost", "http://127.0.0.1:80/",
                                 "https://localhost/"])
async def test_unsafe_urls(url: str) -> None:
    with pytest.raises(UnsafeURL):
        await check_public_url(url)


async def test_a_public_literal_passes_without_dns() -> None:
    await check_public_url("https://8.8.8.8/hook")
