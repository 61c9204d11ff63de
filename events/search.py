"""Discovery: full-text search with typo tolerance, filters, facets, sorting and stable pages.

One call, `event_search(params)`, answers the /events/ page, `GET /api/v1/events` and
`GET /api/v1/search`; it always costs the same queries: count, page rows, two facets (and one
for highlights when there is a query). Keeping the search document fresh is `search_refresh`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import ACos, Cast, Coalesce, Cos, Greatest, Least, Radians, Sin
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from events.cache import cached
from events.models import Event, TicketTier

Sort = Literal["relevance", "date", "rating", "distance"]
When_ = Literal["", "today", "tomorrow", "weekend", "week", "month"]
SORTS: tuple[str, ...] = ("relevance", "date", "rating", "distance")
WHENS: tuple[str, ...] = ("", "today", "tomorrow", "weekend", "week", "month")
# The longest search a person can type, in characters. It agrees with the web server's
# request-line limit (config/gunicorn.conf.py, REQUEST_LINE_MAX): a query string with a longer
# `q` still fits in a request line there, so the app itself answers QUERY_TOO_LONG (a form error
# on the page); only a request line over that limit is refused by gunicorn before the app sees it.
MAX_QUERY_CHARS = 200
MAX_PAGE_SIZE = 100
EARTH_RADIUS_KM = 6371.0
# Highlight markers no one types; the text is escaped, then these become <mark>.
MARK_ON, MARK_OFF = "\x02", "\x03"
_WORD = re.compile(r"\w", re.UNICODE)
_LOCAL = '("events_event"."{column}" AT TIME ZONE "events_event"."time_zone")'


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    category: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float = 25.0
    start_date: date | None = None
    end_date: date | None = None
    when: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    free_only: bool = False
    available_only: bool = False
    sort: str = ""
    page: int = 1
    per_page: int = 12
    offset: int | None = None  # the API's limit/offset paging; pages otherwise
    today: date | None = None  # "today" for when=...; tests pin it

    @property
    def clean_query(self) -> str:
        # NUL cannot go to PostgreSQL; control characters and runs of space mean nothing.
        text = "".join(ch for ch in self.query if ch.isprintable())
        return " ".join(text.split())[:MAX_QUERY_CHARS]

    @property
    def has_text(self) -> bool:
        return bool(_WORD.search(self.clean_query))

    @property
    def near(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def effective_sort(self) -> str:
        if self.sort == "relevance" and not self.has_text:
            return "date"
        if self.sort == "distance" and not self.near:
            return "date"
        if self.sort in SORTS:
            return self.sort
        return "relevance" if self.has_text else "date"

    def cache_key(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.__dict__.items()) if v not in (None, "")]
        return "&".join(parts)


@dataclass(frozen=True)
class Facet:
    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    params: SearchParams
    events: list[Event]
    count: int
    page: int
    per_page: int
    sort: str
    corrected: str = ""  # the query as searched, when misspelt words were corrected
    categories: list[Facet] = field(default_factory=list)
    cities: list[Facet] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def search_refresh(*, event_ids: Iterable[Any] | None = None) -> int:
    """Rebuild the search document of these events (all when None); returns rows updated.

    The trigger in events/search_sql.py builds it; touching the title fires the trigger.
    """
    with connection.cursor() as cursor:
        if event_ids is None:
            cursor.execute("UPDATE events_event SET title = title")
        else:
            ids = [str(i) for i in event_ids]
            if not ids:
                return 0
            cursor.execute(
                "UPDATE events_event SET title = title WHERE id = ANY(%s::uuid[])", [ids]
            )
        return cursor.rowcount


# --- Pieces -----------------------------------------------------------------------------------


def _weekend(today: date) -> tuple[date, date]:
    """This weekend's Saturday and the Monday after; on Sat/Sun, the weekend we are in."""
    weekday = today.weekday()  # Monday 0 ... Sunday 6
    saturday = (
        today - timedelta(days=weekday - 5) if weekday >= 5 else today + timedelta(5 - weekday)
    )
    return saturday, saturday + timedelta(days=2)


def local_window(params: SearchParams) -> tuple[datetime | None, datetime | None]:
    """The [from, until) wall-clock window asked for, to be read in each event's own time zone."""
    today = params.today or timezone.localdate()
    start: date | None = params.start_date
    end: date | None = params.end_date + timedelta(days=1) if params.end_date else None
    if params.when == "today":
        start, end = today, today + timedelta(days=1)
    elif params.when == "tomorrow":
        start, end = today + timedelta(days=1), today + timedelta(days=2)
    elif params.when == "weekend":
        start, end = _weekend(today)
    elif params.when == "week":
        start, end = today, today + timedelta(days=7)
    elif params.when == "month":
        start, end = today, today + timedelta(days=31)
    return (
        datetime.combine(start, time.min) if start else None,
        datetime.combine(end, time.min) if end else None,
    )


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# websearch_to_tsquery operators that must survive the correction untouched.
_OPERATORS = {"or"}


def corrected_query(text: str) -> str:
    """`text` with each word we have never seen replaced by the closest one we have (one query).

    "jaz festivl" becomes "jazz festival", "pyhton" becomes "python": up to 1 edit for words of
    4-5 letters, 2 for longer ones; shorter words, quotes and operators are left alone.
    """
    words = [w for w in dict.fromkeys(_TOKEN.findall(text.lower())) if len(w) >= 4][:8]
    words = [w for w in words if w not in _OPERATORS and not w.isdigit()]
    if not words:
        return text
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT q.w, best.word
              FROM unnest(%s::text[]) AS q(w)
              LEFT JOIN LATERAL (
                   SELECT s.word FROM events_searchword s
                    WHERE s.word = q.w
                       OR (length(s.word) BETWEEN length(q.w) - 2 AND length(q.w) + 2
                           AND left(s.word, 1) = left(q.w, 1)
                           AND levenshtein_less_equal(s.word, q.w, 2)
                               <= CASE WHEN length(q.w) <= 5 THEN 1 ELSE 2 END)
                    ORDER BY s.word = q.w DESC, levenshtein(s.word, q.w), length(s.word) DESC,
                             s.word
                    LIMIT 1
              ) AS best ON TRUE
            """,
            [words],
        )
        fixes = {w: best for w, best in cursor.fetchall() if best and best != w}
    if not fixes:
        return text
    return _TOKEN.sub(lambda m: fixes.get(m.group(0).lower(), m.group(0)), text)


def _filtered(params: SearchParams, now: datetime, text: str) -> QuerySet[Event]:
    events = Event.objects.filter(status=Event.Status.PUBLISHED, ends_at__gte=now, is_test=False)
    if params.category:
        events = events.filter(category__slug=params.category)
    if params.city:
        events = events.filter(venue__city__iexact=params.city.strip())
    start, end = local_window(params)
    # Wall-clock times in the event's own zone: Saturday 00:30 in Tokyo is "this weekend" even
    # though it is Friday in UTC. The UTC bounds (±14 h covers every zone) let the index help.
    if start is not None:
        events = events.filter(ends_at__gte=start.replace(tzinfo=UTC) - timedelta(hours=14)).filter(
            RawSQL(  # noqa: S611 - fixed SQL; the value is a parameter
                _LOCAL.format(column="ends_at") + " > %s::timestamp",
                [start.isoformat(sep=" ")],
                output_field=BooleanField(),
            )
        )
    if end is not None:
        events = events.filter(starts_at__lt=end.replace(tzinfo=UTC) + timedelta(hours=14)).filter(
            RawSQL(  # noqa: S611 - fixed SQL; the value is a parameter
                _LOCAL.format(column="starts_at") + " < %s::timestamp",
                [end.isoformat(sep=" ")],
                output_field=BooleanField(),
            )
        )
    tiers = TicketTier.objects.filter(event=OuterRef("pk"))
    if params.free_only:
        events = events.filter(Exists(tiers.filter(price=0)))
    if params.price_min is not None or params.price_max is not None:
        priced = tiers
        if params.price_min is not None:
            priced = priced.filter(price__gte=params.price_min)
        if params.price_max is not None:
            priced = priced.filter(price__lte=params.price_max)
        events = events.filter(Exists(priced))
    if params.available_only:
        events = events.filter(Exists(_buyable(tiers, now)))
    if params.near:
        events = _near(events, params)
    if params.has_text:
        events = events.filter(
            Q(search_vector=_tsquery(text))
            | Q(search_text__trigram_word_similar=params.clean_query.lower())
        )
    return events


def card_figures(now: datetime) -> dict[str, Any]:
    """What an event card shows: price range, whether anything is buyable, tickets left."""
    tiers = TicketTier.objects.filter(event=OuterRef("pk"))
    left = (
        tiers.order_by()
        .values("event")
        .annotate(left=Sum(F("capacity") - F("sold_count")))
        .values("left")
    )
    return {
        "min_price": Subquery(tiers.order_by("price").values("price")[:1]),
        "max_price": Subquery(tiers.order_by("-price").values("price")[:1]),
        "is_available": Exists(_buyable(tiers, now)),
        "tickets_left": Subquery(left),
    }


def _buyable(tiers: QuerySet[TicketTier], now: datetime) -> QuerySet[TicketTier]:
    return tiers.filter(sold_count__lt=F("capacity")).filter(
        Q(sales_end__isnull=True) | Q(sales_end__gt=now)
    )


def _tsquery(text: str) -> SearchQuery:
    # websearch syntax never raises on user input ("quoted phrases", or, -not). Stemmed the
    # English and the German way, since the document holds both texts (events/search_sql.py):
    # "Konzerte" finds "Konzert" in a German title, "concerts" "concert" in an English one.
    english = SearchQuery(text, search_type="websearch", config="english")
    return english | SearchQuery(text, search_type="websearch", config="german")


def _distance_km(lat: float, lon: float) -> Any:
    """Great-circle distance from (lat, lon) to the venue, clamped so acos never sees 1.0000001."""
    lat_r, lon_r = math.radians(lat), math.radians(lon)
    cosine = Cos(Value(lat_r)) * Cos(Radians(F("venue__latitude"))) * Cos(
        Radians(F("venue__longitude")) - Value(lon_r)
    ) + Value(math.sin(lat_r)) * Sin(Radians(F("venue__latitude")))
    return Value(EARTH_RADIUS_KM) * ACos(Greatest(Value(-1.0), Least(Value(1.0), cosine)))


def _near(events: QuerySet[Event], params: SearchParams) -> QuerySet[Event]:
    if params.latitude is None or params.longitude is None:
        return events
    radius = max(0.1, min(params.radius_km, 500.0))
    lat, lon = params.latitude, params.longitude
    dlat = radius / 111.0
    dlon = radius / max(1.0, 111.0 * math.cos(math.radians(lat)))
    return (
        events.filter(
            venue__latitude__range=(lat - dlat, lat + dlat),
            venue__longitude__range=(lon - dlon, lon + dlon),
        )
        .annotate(distance_km=_distance_km(lat, lon))
        .filter(distance_km__lte=radius)
    )


def _ordered(
    events: QuerySet[Event], params: SearchParams, sort: str, text: str
) -> QuerySet[Event]:
    if sort == "relevance":
        # Word matches rank by ts_rank; matches only by trigram similarity (typos nothing could
        # correct) come after them. word_similarity() is costly, so only those pay for it.
        query = _tsquery(text)
        return events.annotate(
            relevance=Case(
                When(search_vector=query, then=SearchRank(F("search_vector"), query)),
                default=TrigramWordSimilarity(params.clean_query.lower(), "search_text")
                * Value(0.001),
                output_field=FloatField(),
            )
        ).order_by("-relevance", "starts_at", "id")
    if sort == "rating":
        # An event's own rating when it has one, else its organizer's (upcoming events have
        # none of their own yet): the database sorts by the same number the page shows.
        def average(total: str, count: str) -> Case:
            return Case(
                When(**{f"{count}__gt": 0}, then=Cast(total, FloatField()) / F(count)),
                default=None,
                output_field=FloatField(),
            )

        return events.annotate(
            rating=Coalesce(
                average("rating_sum", "rating_count"),
                # A LEFT JOIN through the organization, not a subquery per row.
                average("organization__rating__rating_sum", "organization__rating__rating_count"),
            )
        ).order_by(F("rating").desc(nulls_last=True), "starts_at", "id")
    if sort == "distance":
        return events.order_by(F("distance_km").asc(), "starts_at", "id")
    return events.order_by("starts_at", "id")


def _count_and_facets(events: QuerySet[Event]) -> tuple[int, list[Facet], list[Facet]]:
    """The match count and both facets from one pass over the matches (GROUPING SETS)."""
    inner = events.order_by().values("category__slug", "category__name", "venue__city")
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT slug, name, city, count(*), GROUPING(slug, name), GROUPING(city)
              FROM ({sql}) AS matches (slug, name, city)
             GROUP BY GROUPING SETS ((slug, name), (city), ())
            """,  # noqa: S608 - the ORM's own SQL, its values stay parameters
            params,
        )
        rows = cursor.fetchall()
    total, categories, cities = 0, [], []
    for slug, name, city, count, by_category, by_city in rows:
        if by_category and by_city:
            total = count
        elif not by_category and slug is not None:
            categories.append(Facet(value=slug, label=name, count=count))
        elif not by_city:
            cities.append(Facet(value=city, label=city, count=count))
    categories.sort(key=lambda f: (-f.count, f.label))
    cities.sort(key=lambda f: (-f.count, f.label))
    return total, categories[:30], cities[:30]


def event_search(params: SearchParams, *, facets: bool = True) -> SearchResult:
    """One page of public events matching `params`, with counts and facets."""
    now = timezone.now()
    per_page = max(1, min(params.per_page, MAX_PAGE_SIZE))
    sort = params.effective_sort
    text = corrected_query(params.clean_query) if params.has_text else ""
    filtered = _filtered(params, now, text)
    if facets:
        # Count and facets do not depend on the sort or the page: pages 2, 3... and other sort
        # orders of the same search share them.
        shared = replace(params, page=1, per_page=12, sort="", offset=None)
        count, categories, cities = cached(
            "listing", "facets", shared.cache_key(), lambda: _count_and_facets(filtered)
        )
    else:
        count, categories, cities = filtered.order_by().count(), [], []
    num_pages = max(1, math.ceil(count / per_page))
    if params.offset is not None:
        start = params.offset
        page = start // per_page + 1
    else:
        page = max(1, min(params.page, num_pages))
        start = (page - 1) * per_page
    rows = (
        _ordered(filtered, params, sort, text)
        .select_related("venue", "category", "organization")
        .annotate(**card_figures(now))
    )
    events: list[Event] = list(rows[start : start + per_page])
    if params.has_text and events:
        _highlight(events, text)
    return SearchResult(
        params=replace(params, page=page, per_page=per_page),
        events=events,
        count=count,
        page=page,
        per_page=per_page,
        sort=sort,
        corrected=text if text != params.clean_query else "",
        categories=categories,
        cities=cities,
    )


def _marked(text: str) -> SafeString:
    safe = str(escape(text)).replace(MARK_ON, "<mark>").replace(MARK_OFF, "</mark>")
    return mark_safe(safe)  # noqa: S308 - escaped above; only our own markers become tags


def _highlight(events: Sequence[Event], text: str) -> None:
    """ts_headline for the shown rows only (one query), escaped before <mark> goes in; on the
    texts in the page's language where the organizer wrote them (see Event.text_in)."""
    options = f"StartSel={MARK_ON}, StopSel={MARK_OFF}, HighlightAll=true"
    snippet = f"StartSel={MARK_ON}, StopSel={MARK_OFF}, MaxWords=30, MinWords=12, MaxFragments=2"
    language = (get_language() or "").split("-")[0]
    config = "german" if language == "de" else "english"
    ids = [str(e.pk) for e in events]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id,
                   ts_headline(CASE WHEN own.title IS NULL THEN 'english' ELSE %s END::regconfig,
                               coalesce(own.title, e.title), q, %s),
                   ts_headline(CASE WHEN own.description IS NULL THEN 'english' ELSE %s END
                                   ::regconfig,
                               left(coalesce(own.description, e.description), 5000), q, %s)
              FROM events_event e
                   CROSS JOIN LATERAL (
                       SELECT nullif(e.translations->%s->>'title', '') AS title,
                              nullif(e.translations->%s->>'description', '') AS description
                   ) own,
                   (SELECT websearch_to_tsquery('english', %s)
                           || websearch_to_tsquery('german', %s)) AS search(q)
             WHERE e.id = ANY(%s::uuid[])
            """,
            [config, options, config, snippet, language, language, text, text, ids],
        )
        found = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    for event in events:
        title, snippet_text = found.get(event.pk, (event.title, event.description[:200]))
        event.title_highlight = _marked(title)  # type: ignore[attr-defined]
        event.snippet_highlight = _marked(snippet_text)  # type: ignore[attr-defined]
