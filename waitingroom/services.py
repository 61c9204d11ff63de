"""Setting a room up, letting visitors in, and the check `register` makes."""

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from redis.exceptions import RedisError

from events.models import Event
from waitingroom import passes, queue
from waitingroom.models import WaitingRoom

logger = logging.getLogger(__name__)

# A rush asks "is there a room?" on every register; the answer may be this old.
ROOM_STATE_TTL_S = 1.0
# While Redis does not answer, the room is read from PostgreSQL and Redis is not asked again
# for this long, so a frozen Redis costs one short timeout per process, not one per request.
REDIS_DOWN_RETRY_S = 5.0
_room_state: dict[str, tuple[float, dict[str, Any] | None]] = {}
_room_state_lock = threading.Lock()
_pages: dict[str, tuple[float, dict[str, Any]]] = {}
# Set in the WSGI environ by a fast lane that already counted this arrival for an auto room.
ARRIVAL_COUNTED = "boxoffice.queue_arrival_counted"


@transaction.atomic(durable=True)
def room_save(
    *,
    event: Event,
    mode: str,
    pace: str,
    opens_at: datetime,
    admit_per_minute: int,
    auto_arrivals_per_minute: int = 1200,
    token_minutes: int = 15,
) -> WaitingRoom:
    """Create or change the event's waiting room; visitors see the change at their next poll."""
    room, _ = WaitingRoom.objects.update_or_create(
        event=event,
        defaults={
            "mode": mode,
            "pace": pace,
            "opens_at": opens_at,
            "admit_per_minute": admit_per_minute,
            "auto_arrivals_per_minute": auto_arrivals_per_minute,
            "token_minutes": token_minutes,
        },
    )
    transaction.on_commit(lambda: room_publish(room))
    return room


def room_publish(room: WaitingRoom) -> None:
    """Write the room's settings where polls, arrivals and `register` read them (Redis)."""
    event = room.event
    queue.page_publish(
        event_id=room.event_id,
        page=_page(room) if event.status == Event.Status.PUBLISHED else None,
    )
    queue.configure(
        event_id=room.event_id,
        on=room.mode == WaitingRoom.Mode.ON,
        opens_at=room.opens_at.timestamp(),
        rate_per_s=room.admit_per_minute / 60,
        auto_per_minute=room.auto_arrivals_per_minute if room.mode == room.Mode.AUTO else 0,
        token_s=room.token_minutes * 60,
    )
    with _room_state_lock:
        _room_state.pop(str(room.event_id), None)
        _pages.pop(str(room.event_id), None)


def _page(room: WaitingRoom) -> dict[str, Any]:
    event = room.event
    return {
        "off": room.mode == WaitingRoom.Mode.OFF,
        "titles": {code: event.text_in("title", code) for code, _ in settings.LANGUAGES},
        "book_url": event.get_absolute_url(),
        "token_minutes": room.token_minutes,
    }


def room_page_published(event_id: Any) -> dict[str, Any] | None:
    """The page as published in Redis (kept for a second in the process), or None."""
    now = time.monotonic()
    cached = _pages.get(str(event_id))
    if cached is not None and cached[0] > now:
        return cached[1]
    page = queue.page_of(event_id=event_id)
    if page is not None:
        with _room_state_lock:
            _pages[str(event_id)] = (now + ROOM_STATE_TTL_S, page)
    return page


def room_caches_clear() -> None:
    """Forget what this process keeps of rooms for a second (tests, and after a Redis restart)."""
    with _room_state_lock:
        _room_state.clear()
        _pages.clear()


def room_page(event_id: Any) -> dict[str, Any] | None:
    """What the waiting page shows, or None when the event has no public room.

    Read from Redis (and kept for a second in the process: an arrival costs no round trip for
    it); only when Redis holds no page (a room not published yet, an event that is
    not public, Redis emptied) from PostgreSQL, publishing what it finds.
    """
    page = room_page_published(event_id)
    if page is not None:
        return page
    room = (
        WaitingRoom.objects.select_related("event")
        .filter(event_id=event_id, event__status=Event.Status.PUBLISHED)
        .first()
    )
    if room is None:
        return None
    room_publish(room)
    return _page(room)


def rooms_publish() -> int:
    """Publish every room again (beat, and after a Redis restart): an event that stopped being
    public loses its waiting page within a beat."""
    rooms = list(WaitingRoom.objects.select_related("event").exclude(mode=WaitingRoom.Mode.OFF))
    for room in rooms:
        room_publish(room)
    return len(rooms)


def checkout_pace_set(*, completed: dict[Any, int]) -> int:
    """Rooms paced by checkout: let through as many a minute as completed checkout last minute.

    `completed`: paid orders per event over the last minute (the booking side counts them).
    """
    rooms = WaitingRoom.objects.filter(pace=WaitingRoom.Pace.CHECKOUT).exclude(
        mode=WaitingRoom.Mode.OFF
    )
    for room in rooms:
        # Never below a trickle, so a quiet minute does not close the room.
        per_minute = max(completed.get(room.event_id, 0), max(1, room.admit_per_minute // 10))
        queue.set_rate(event_id=room.event_id, rate_per_s=per_minute / 60)
    return len(rooms)


def checkout_paced_events() -> list[Any]:
    return list(
        WaitingRoom.objects.filter(pace=WaitingRoom.Pace.CHECKOUT)
        .exclude(mode=WaitingRoom.Mode.OFF)
        .values_list("event_id", flat=True)
    )


def _state(event_id: str) -> dict[str, Any] | None:
    now = time.monotonic()
    cached = _room_state.get(event_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        state = queue.room_settings(event_id=event_id)
        fresh_for = ROOM_STATE_TTL_S
    except RedisError as exc:
        logger.warning(
            "waiting room of %s read from PostgreSQL: Redis unavailable (%s)", event_id, exc
        )
        state = _stored_state(event_id)
        fresh_for = REDIS_DOWN_RETRY_S
    with _room_state_lock:
        _room_state[event_id] = (now + fresh_for, state)
    return state


def _stored_state(event_id: str) -> dict[str, Any] | None:
    """The room as saved, shaped like `queue.room_settings`, for when Redis cannot be asked.

    An automatic room cannot count arrivals without Redis, so it stays as saved (off) until
    Redis answers again; a room that is on still needs a pass, and passes are verified by their
    signature alone.
    """
    room = WaitingRoom.objects.filter(event_id=event_id).first()
    if room is None or room.mode == WaitingRoom.Mode.OFF:
        return None
    return {
        "on": room.mode == WaitingRoom.Mode.ON,
        "auto_per_minute": 0,
        "token_s": room.token_minutes * 60,
    }


def room_pass_lifetime(event_id: Any, *, count_arrival: bool = True) -> int | None:
    """How long a queue pass lives (seconds) while the event's room is on; None while
    `register` needs no pass.

    No room: one Redis read per process per second. A room that switches itself on counts
    this arrival (unless `count_arrival` is off because an outer layer already did) and
    switches on past its threshold.
    """
    state = _state(str(event_id))
    if state is None:
        return None
    if not state["on"]:
        if not state["auto_per_minute"] or not count_arrival:
            return None
        try:
            if queue.count_arrival(event_id=event_id) <= state["auto_per_minute"]:
                return None
            queue.switch_on(event_id=event_id, opens_at=time.time())
        except RedisError:
            # Arrivals cannot be counted now: the room stays off, as `_stored_state` has it.
            logger.warning("arrival at %s not counted: Redis unavailable", event_id)
            return None
        with _room_state_lock:
            _room_state.pop(str(event_id), None)
    return int(state["token_s"])


def queue_pass_missing(request: HttpRequest, event_id: Any) -> bool:
    """True when the event's room is on and the request holds no valid pass of its own."""
    lifetime = room_pass_lifetime(event_id, count_arrival=not request.META.get(ARRIVAL_COUNTED))
    if lifetime is None:
        return False
    holder = passes.pass_holder(
        passes.request_pass(request, event_id), event_id, max_age_s=lifetime
    )
    return holder is None or holder not in passes.identities(request, event_id)
