"""Per-address limits (issue 20): which address a request is counted against, and that one
address flooding new conversations is refused while another is not."""

from __future__ import annotations

import pytest

from chatbot.rasa_server.rate_limits import AddressLimits, RateLimiter, client_address, parse_networks

PROXY = parse_networks(("127.0.0.1/32", "::1"))


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("203.0.113.9", None, "203.0.113.9"),  # no proxy in front
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # a client's own header is never believed
    ("127.0.0.1", "198.51.100.1", "198.51.100.1"),  # nginx appended the address it saw
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the client wrote is left of it
    ("127.0.0.1", "198.51.100.1, 127.0.0.1", "198.51.100.1"),  # proxies in a row are skipped
    ("127.0.0.1", "not-an-address", "127.0.0.1"),  # garbage: the proxy's own view
    ("127.0.0.1", None, "127.0.0.1"),
    ("::1", "2001:db8::7", "2001:db8::7"),
])
def test_the_client_address_believes_x_forwarded_for_only_from_a_trusted_proxy(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXY) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"


def test_a_flood_of_new_conversations_from_one_address_leaves_another_address_alone():
    limits = AddressLimits(RateLimiter(30), RateLimiter(120))
    flood = [limits.conversations.allow("203.0.113.9", now=t / 2) for t in range(120)]  # 120 in 60 s
    assert flood.count(True) == 30 and flood[:30] == [True] * 30
    assert limits.conversations.allow("198.51.100.1", now=59.0)
    assert limits.conversations.allow("203.0.113.9", now=61.0)  # a minute later it may start again
