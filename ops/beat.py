"""One beat in a cluster: every node may run `celery beat`, only the holder of a Redis lock
sends anything.

    celery -A config beat -S ops.beat.LockedScheduler

The lock is renewed on every tick; a standby takes over once the holder has been silent for
BEAT_LOCK_SECONDS. A beat that cannot reach Redis sends nothing: a late periodic job is harmless
(each is safe to run late and twice), two schedulers sending every job twice is waste, and the
broker is the same Redis anyway.
"""

import contextlib
import logging
import os
import uuid
from typing import Any

import redis
from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "boxoffice:beat:leader"
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class LockedScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock_seconds = float(os.environ.get("BEAT_LOCK_SECONDS", "30"))
        self.token = uuid.uuid4().hex
        self.leading = False
        super().__init__(*args, **kwargs)
        url = self.app.conf.broker_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def _hold_lock(self) -> bool:
        ttl_ms = int(self.lock_seconds * 1000)
        try:
            held = bool(self.redis.eval(_RENEW, 1, LOCK_KEY, self.token, ttl_ms)) or bool(
                self.redis.set(LOCK_KEY, self.token, nx=True, px=ttl_ms)
            )
        except redis.RedisError as exc:
            logger.warning("beat lock unreachable, sending nothing: %s", exc)
            held = False
        if held != self.leading:
            logger.info("beat %s: %s", self.token[:8], "leading" if held else "standing by")
            self.leading = held
        return held

    def tick(self, *args: Any, **kwargs: Any) -> float:
        # Renew well within the lock's lifetime, whatever the next job's due time.
        renew_every = self.lock_seconds / 3
        if not self._hold_lock():
            return renew_every
        return min(float(super().tick(*args, **kwargs)), renew_every)

    def close(self) -> None:
        if self.leading:
            # Hand over at once on a clean stop instead of after the lock times out.
            with contextlib.suppress(redis.RedisError):
                self.redis.eval(_RENEW, 1, LOCK_KEY, self.token, 1)
        super().close()
