"""How often one patient, and one network address, may ask something of the assistant.

Two kinds of limit, each a sliding window of 60 seconds, counted in Redis when
RATE_LIMIT_REDIS_URL is set (so every Rasa instance shares the count) and in this
process otherwise:

- per conversation: messages and history reads (`rate_limit_per_minute` in credentials.yml);
- per client address, across all its conversations: new conversations and messages
  (NEW_CONVERSATIONS_PER_ADDRESS, MESSAGES_PER_ADDRESS). Without it, one address could ask
  for a new conversation before every message and never be refused.

The client address is the connection's peer, or, when that peer is one of TRUSTED_PROXIES
(nginx in front of Rasa), the last address in X-Forwarded-For that is not a trusted
proxy: a client can write anything in that header, but only the part the proxy appended
is believed.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)


class RateLimiter:
    """At most `limit` messages per sender in any `window` seconds (one server process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, sender: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._seen) > 50_000:  # forget idle senders so memory stays bounded
            self._seen = {s: q for s, q in self._seen.items() if q and now - q[-1] < self.window}
        recent = self._seen.setdefault(sender, deque())
        while recent and now - recent[0] >= self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True


class RedisRateLimiter:
    """The same sliding window, kept in Redis so every Rasa instance shares it (a sorted
    set of arrival times per sender). If Redis cannot be reached, this process's own
    count is used meanwhile."""

    def __init__(self, limit: int, url: str, name: str, window: int = 60) -> None:
        import redis

        self.limit = limit
        self.window = window
        self.prefix = f"clinic-chat:rate:{name}"
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.local = RateLimiter(limit, window)

    def allow(self, sender: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        key = f"{self.prefix}:{sender}"
        arrival = f"{now:.6f}:{uuid.uuid4().hex[:8]}"  # unique even for two at the same time
        try:
            with self.client.pipeline() as pipe:  # MULTI/EXEC: one step for all instances
                pipe.zremrangebyscore(key, 0, now - self.window)
                pipe.zadd(key, {arrival: now})
                pipe.zcard(key)
                pipe.expire(key, self.window)
                count = pipe.execute()[2]
                if int(count) > self.limit:  # refused messages do not count, as in RateLimiter
                    self.client.zrem(key, arrival)
                    return False
                return True
        except Exception as error:  # Redis down: keep limiting, per process
            log.warning("Rate limit store unavailable (%s); counting per process", type(error).__name__)
            return self.local.allow(sender)


def make_limiter(limit: int, redis_url: str, name: str) -> RateLimiter | RedisRateLimiter:
    """`name` keeps the counts of messages and of history reads apart in Redis."""
    return RedisRateLimiter(limit, redis_url, name) if redis_url else RateLimiter(limit)


Networks = tuple["ipaddress.IPv4Network | ipaddress.IPv6Network", ...]


def parse_networks(items: tuple[str, ...]) -> Networks:
    """TRUSTED_PROXIES as networks, parsed once (the settings already checked each item)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def client_address(peer: str, forwarded_for: str | None, networks: Networks) -> str:
    """The patient's address as far as it can be trusted (see the module's docstring)."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not networks or not is_trusted(peer) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):  # nearest first: the proxy appended the address it saw
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # garbage the client wrote: the proxy's own view is all we have
                return peer
    return peer


@dataclass
class AddressLimits:
    """New conversations and messages a minute per client address."""

    conversations: RateLimiter | RedisRateLimiter
    messages: RateLimiter | RedisRateLimiter

    @classmethod
    def from_settings(cls, conversations: int, messages: int, redis_url: str) -> AddressLimits:
        return cls(make_limiter(conversations, redis_url, "address-conversations"),
                   make_limiter(messages, redis_url, "address-messages"))
