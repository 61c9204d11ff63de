"""Fill an empty database with the design documents' scale, fast (COPY through psycopg 3).

    python manage.py seed_scale                    # 100k attendees, 1k organizers, 10k active
                                                   # events, 1M tickets, 500k feedback entries
    python manage.py seed_scale --scale 0.01       # the same shape, 1% of the rows

Popularity is skewed (Zipf): a few events sell tens of thousands of tickets, most sell dozens.
Feedback goes to events that have ended (ticket holders only, one each), so 2,500 past events
are made besides the active ones. Rows are generated in Python and streamed with COPY; foreign
keys are not re-checked row by row for the ticket tables (session_replication_role=replica)
because the generator makes them consistent by construction. Prints one JSON line of timings.
"""

from __future__ import annotations

import gc
import json
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

from events.models import Event

# city, country, latitude, longitude, time zone
CITIES = [
    ("Berlin", "DE", 52.520, 13.405, "Europe/Berlin"),
    ("Hamburg", "DE", 53.551, 9.994, "Europe/Berlin"),
    ("München", "DE", 48.137, 11.575, "Europe/Berlin"),
    ("Köln", "DE", 50.938, 6.960, "Europe/Berlin"),
    ("Leipzig", "DE", 51.340, 12.375, "Europe/Berlin"),
    ("Wien", "AT", 48.208, 16.373, "Europe/Vienna"),
    ("Zürich", "CH", 47.377, 8.540, "Europe/Zurich"),
    ("Amsterdam", "NL", 52.368, 4.904, "Europe/Amsterdam"),
    ("Paris", "FR", 48.857, 2.352, "Europe/Paris"),
    ("Lyon", "FR", 45.764, 4.836, "Europe/Paris"),
    ("London", "GB", 51.507, -0.128, "Europe/London"),
    ("Manchester", "GB", 53.481, -2.243, "Europe/London"),
    ("Dublin", "IE", 53.350, -6.260, "Europe/Dublin"),
    ("Madrid", "ES", 40.417, -3.704, "Europe/Madrid"),
    ("Barcelona", "ES", 41.385, 2.173, "Europe/Madrid"),
    ("Lisboa", "PT", 38.722, -9.139, "Europe/Lisbon"),
    ("Roma", "IT", 41.903, 12.496, "Europe/Rome"),
    ("Milano", "IT", 45.464, 9.190, "Europe/Rome"),
    ("København", "DK", 55.676, 12.568, "Europe/Copenhagen"),
    ("Stockholm", "SE", 59.329, 18.069, "Europe/Stockholm"),
    ("Oslo", "NO", 59.914, 10.752, "Europe/Oslo"),
    ("Helsinki", "FI", 60.170, 24.938, "Europe/Helsinki"),
    ("Warszawa", "PL", 52.230, 21.012, "Europe/Warsaw"),
    ("Praha", "CZ", 50.076, 14.438, "Europe/Prague"),
    ("Budapest", "HU", 47.498, 19.040, "Europe/Budapest"),
    ("New York", "US", 40.713, -74.006, "America/New_York"),
    ("Chicago", "US", 41.878, -87.630, "America/Chicago"),
    ("Austin", "US", 30.267, -97.743, "America/Chicago"),
    ("Los Angeles", "US", 34.052, -118.244, "America/Los_Angeles"),
    ("San Francisco", "US", 37.775, -122.419, "America/Los_Angeles"),
    ("Seattle", "US", 47.606, -122.332, "America/Los_Angeles"),
    ("Toronto", "CA", 43.653, -79.383, "America/Toronto"),
    ("Montréal", "CA", 45.502, -73.567, "America/Toronto"),
    ("México", "MX", 19.433, -99.133, "America/Mexico_City"),
    ("São Paulo", "BR", -23.551, -46.633, "America/Sao_Paulo"),
    ("Buenos Aires", "AR", -34.604, -58.382, "America/Argentina/Buenos_Aires"),
    ("Tokyo", "JP", 35.676, 139.650, "Asia/Tokyo"),
    ("Seoul", "KR", 37.567, 126.978, "Asia/Seoul"),
    ("Singapore", "SG", 1.352, 103.820, "Asia/Singapore"),
    ("Sydney", "AU", -33.869, 151.209, "Australia/Sydney"),
]
CATEGORIES = [
    "Concert",
    "Jazz",
    "Rock",
    "Electronic",
    "Classical",
    "Theatre",
    "Comedy",
    "Conference",
    "Workshop",
    "Festival",
    "Sports",
    "Family",
]
GENRE_WORDS = {
    "Concert": ["Pop", "Indie", "Soul", "Acoustic", "Singer-Songwriter"],
    "Jazz": ["Jazz", "Swing", "Bebop", "Blues", "Big Band"],
    "Rock": ["Rock", "Punk", "Metal", "Grunge", "Garage Rock"],
    "Electronic": ["Techno", "House", "Drum and Bass", "Ambient", "Disco"],
    "Classical": ["Symphony", "Chamber Music", "Piano Recital", "Opera", "Baroque"],
    "Theatre": ["Shakespeare", "Musical", "Improv Theatre", "Drama", "Puppetry"],
    "Comedy": ["Stand-up Comedy", "Comedy", "Satire", "Open Mic", "Sketch Comedy"],
    "Conference": ["Python", "Data", "Cloud", "Design", "Security"],
    "Workshop": ["Pottery", "Photography", "Woodworking", "Watercolour", "Sourdough"],
    "Festival": ["Jazz", "Folk", "Film", "Food", "Street Art"],
    "Sports": ["Marathon", "Basketball", "Football", "Boxing", "Climbing"],
    "Family": ["Circus", "Magic", "Puppet", "Science", "Storytelling"],
}
FORMATS = {
    "Concert": ["Live", "Tour {year}", "Unplugged", "Night", "Session"],
    "Jazz": ["Night", "Festival", "Jam", "Brunch", "Club Evening"],
    "Rock": ["Night", "Festival", "Showcase", "Live", "Tour {year}"],
    "Electronic": ["Rave", "Night", "Open Air", "Warehouse Party", "Festival"],
    "Classical": ["Gala", "Matinee", "Evening", "Series", "Festival"],
    "Theatre": ["Premiere", "Evening", "Festival", "Matinee", "Season"],
    "Comedy": ["Night", "Special", "Festival", "Showcase", "Tour {year}"],
    "Conference": ["Conference {year}", "Summit", "Days", "Con", "Forum"],
    "Workshop": ["Workshop", "Masterclass", "Weekend Course", "Bootcamp", "Lab"],
    "Festival": ["Festival", "Weekend", "Open Air", "Days", "Fair"],
    "Sports": ["Cup", "Championship", "Open", "Derby", "Challenge"],
    "Family": ["Show", "Afternoon", "Day", "Adventure", "Festival"],
}
ADJECTIVES = [
    "Summer",
    "Winter",
    "Midnight",
    "Grand",
    "Little",
    "Golden",
    "Northern",
    "Riverside",
    "Open",
    "Underground",
    "International",
    "Rooftop",
    "Harbour",
    "Spring",
    "Autumn",
    "Late",
]
FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Marco",
    "Nina",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Samir",
    "Tara",
    "Ugo",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Grace",
    "Miles",
    "Ella",
    "Django",
    "Nora",
    "Amir",
]
LAST = [
    "Albers",
    "Brandt",
    "Costa",
    "Dietrich",
    "Engel",
    "Fischer",
    "Gomez",
    "Hansen",
    "Ivanova",
    "Jung",
    "Keller",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Vogel",
    "Weber",
    "Yilmaz",
    "Zimmer",
    "Hopper",
    "Davis",
    "Fitzgerald",
    "Reinhardt",
    "Simone",
    "Coltrane",
    "Holiday",
]
BANDS = ["Quartet", "Trio", "Orchestra", "Collective", "Ensemble", "Band", "Brothers", "Project"]
VENUE_KINDS = [
    "Hall",
    "Club",
    "Arena",
    "Theater",
    "Kesselhaus",
    "Loft",
    "Garden",
    "Stage",
    "Werk",
    "Studio",
    "Center",
    "Palace",
]
COMMENTS = [
    "Great atmosphere, would come again.",
    "Sound was a bit too loud at the back.",
    "Amazing performance!",
    "Queues at the entrance were long.",
    "Well organised, friendly staff.",
    "Not my cup of tea, but the venue was lovely.",
    "Best night of the year.",
    "Too crowded, hard to see the stage.",
    "Excellent speakers and good coffee.",
    "Started late, otherwise fine.",
]
ATTENDEES, ORGANIZERS, ACTIVE_EVENTS, PAST_EVENTS = 100_000, 1_000, 10_000, 2_500
TICKETS, PAST_SHARE, FEEDBACK = 1_000_000, 0.65, 500_000


def log(message: str) -> None:
    print(f"[seed_scale] {message}", flush=True)


def zipf_counts(total: int, n: int, exponent: float, rng: random.Random, cap: int) -> list[int]:
    """`total` split over `n` items with weight 1/rank^exponent, ranks shuffled, each <= cap."""
    weights = [1 / (rank**exponent) for rank in range(1, n + 1)]
    scale = total / sum(weights)
    counts = [min(cap, max(1, int(w * scale))) for w in weights]
    missing = total - sum(counts)
    i = 0
    while missing > 0 and i < 100 * n:  # the rounding remainder goes to the middle of the tail
        j = n // 10 + (i % max(1, n - n // 10))
        if counts[j] < cap:
            counts[j] += 1
            missing -= 1
        i += 1
    rng.shuffle(counts)
    return counts


@dataclass
class Plan:
    scale: float
    attendees: int
    organizers: int
    active: int
    past: int
    tickets: int
    feedback: int
    timings: dict[str, float] = field(default_factory=dict)


class Command(BaseCommand):
    help = "Generate the scale dataset (100k attendees ... 500k feedback) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument(
            "--force", action="store_true", help="run even though events already exist"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Event.objects.exists() and not options["force"]:
            raise CommandError("The database already has events; use an empty one (or --force).")
        scale = options["scale"]
        if not 0 < scale <= 1:
            raise CommandError("--scale must be in (0, 1].")
        plan = Plan(
            scale=scale,
            attendees=max(50, int(ATTENDEES * scale)),
            organizers=max(3, int(ORGANIZERS * scale)),
            active=max(10, int(ACTIVE_EVENTS * scale)),
            past=max(5, int(PAST_EVENTS * scale)),
            tickets=max(100, int(TICKETS * scale)),
            feedback=max(30, int(FEEDBACK * scale)),
        )
        rng = random.Random(options["seed"])  # noqa: S311 - test data, not secrets
        started = time.monotonic()
        gc.disable()  # millions of short-lived tuples: the cyclic collector only slows us down
        try:
            Seeder(plan, rng).run()
        finally:
            gc.enable()
        plan.timings["total_s"] = round(time.monotonic() - started, 1)
        self.stdout.write(json.dumps({"plan": dict(plan.__dict__)}))


class Seeder:
    def __init__(self, plan: Plan, rng: random.Random) -> None:
        self.plan, self.rng = plan, rng
        self.now = timezone.now()
        self.user_ids: list[int] = []
        self.user_names: list[str] = []
        self.org_ids: list[str] = []
        self.venues_by_org: dict[str, list[tuple[int, int]]] = {}  # org -> [(venue id, city)]
        self.category_ids: dict[str, int] = {}

    def step(self, name: str, started: float) -> None:
        took = round(time.monotonic() - started, 1)
        self.plan.timings[name] = took
        log(f"{name}: {took} s")

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count

    def run(self) -> None:
        connection.ensure_connection()
        t = time.monotonic()
        self.people()
        self.step("users_orgs_s", t)
        t = time.monotonic()
        events = self.events()
        self.step("events_s", t)
        t = time.monotonic()
        self.agendas(events)
        self.step("sessions_s", t)
        t = time.monotonic()
        self.sales(events)
        self.step("tickets_feedback_s", t)
        t = time.monotonic()
        self.totals()
        self.step("totals_analyze_s", t)

    # --- People ------------------------------------------------------------------------------

    def people(self) -> None:
        plan, rng = self.plan, self.rng
        total = plan.attendees + plan.organizers
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_user")
            first_id = cursor.fetchone()[0] + 1
        joined = self.now - timedelta(days=400)
        users = []
        for n in range(total):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            self.user_names.append(name)
            self.user_ids.append(first_id + n)
            role = "org" if n >= plan.attendees else "fan"
            users.append(
                (
                    first_id + n,
                    "!seed",  # unusable password: seeded people cannot log in
                    False,
                    f"{role}{n}@scale.example",
                    name,
                    "",
                    "",
                    False,
                    True,
                    joined + timedelta(minutes=n),
                )
            )
        self.copy(
            "accounts_user",
            [
                "id",
                "password",
                "is_superuser",
                "email",
                "full_name",
                "first_name",
                "last_name",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            users,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)",
                [first_id + total],
            )
        orgs, memberships, venues = [], [], []
        venue_id = self._next_id("events_venue")
        for n in range(plan.organizers):
            org_id = str(uuid.uuid4())
            self.org_ids.append(org_id)
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(LAST)} Productions {n}"
            orgs.append((org_id, name, slugify(name), self.now))
            memberships.append((org_id, self.user_ids[plan.attendees + n], "owner", self.now))
            home = rng.randrange(len(CITIES))
            self.venues_by_org[org_id] = []
            for k in range(2):
                city = home if k == 0 else rng.randrange(len(CITIES))
                c_name, country, lat, lon, _tz = CITIES[city]
                v_name = f"{rng.choice(LAST)} {rng.choice(VENUE_KINDS)}"
                venues.append(
                    (
                        venue_id,
                        org_id,
                        v_name,
                        f"{rng.randint(1, 200)} {rng.choice(LAST)}straße",
                        c_name,
                        country,
                        lat + rng.uniform(-0.06, 0.06),
                        lon + rng.uniform(-0.09, 0.09),
                    )
                )
                self.venues_by_org[org_id].append((venue_id, city))
                venue_id += 1
        self.copy("accounts_organization", ["id", "name", "slug", "created_at"], orgs)
        self.copy(
            "accounts_membership", ["organization_id", "user_id", "role", "created_at"], memberships
        )
        self.copy(
            "events_venue",
            [
                "id",
                "organization_id",
                "name",
                "address",
                "city",
                "country",
                "latitude",
                "longitude",
            ],
            venues,
        )
        self._sync_sequence("events_venue")
        for name in CATEGORIES:
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO events_category (name, slug) VALUES (%s, %s) "
                    "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                    [name, slugify(name)],
                )
                self.category_ids[name] = cursor.fetchone()[0]

    def _next_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608 - ours
            return int(cursor.fetchone()[0])

    def _sync_sequence(self, table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - ours
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )

    # --- Events and tiers --------------------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        plan, rng = self.plan, self.rng
        # Busy organizers run many events: organizer weights are skewed too.
        org_weights = [1 / (r**0.8) for r in range(1, len(self.org_ids) + 1)]
        total_events = plan.active + plan.past
        org_choice = rng.choices(self.org_ids, weights=org_weights, k=total_events)
        events: list[dict[str, Any]] = []
        rows = []
        year = self.now.year
        for n in range(total_events):
            past = n >= plan.active
            org = org_choice[n]
            venue_id, city = rng.choice(self.venues_by_org[org])
            tz = CITIES[city][4]
            category = rng.choice(CATEGORIES)
            genre = rng.choice(GENRE_WORDS[category])
            form = rng.choice(FORMATS[category]).format(year=year + (0 if not past else -1))
            title = f"{rng.choice(ADJECTIVES)} {genre} {form}"
            if rng.random() < 0.3:
                title = f"{title} {CITIES[city][0]}"
            performers = ", ".join(
                f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                + (f" {rng.choice(BANDS)}" if rng.random() < 0.4 else "")
                for _ in range(rng.randint(1, 3))
            )
            if past:
                starts = self.now - timedelta(days=rng.uniform(2, 300))
            else:
                starts = self.now + timedelta(hours=rng.uniform(2, 24 * 180))
            starts = starts.replace(minute=(starts.minute // 15) * 15, second=0, microsecond=0)
            conference = category == "Conference" and rng.random() < 0.6
            hours = rng.choice([9, 33, 57]) if conference else rng.choice([2, 2.5, 3, 4, 6])
            ends = starts + timedelta(hours=hours)
            description = (
                f"{title} brings {genre.lower()} to {CITIES[city][0]}. "
                f"With {performers}. "
                f"{rng.choice(['Doors open an hour before.', 'Seating is free.', 'Standing only.', 'Food and drinks on site.'])} "  # noqa: E501
                f"{rng.choice(['All ages welcome.', 'Over 18 only.', 'Step-free access.', 'Bring a friend.'])}"  # noqa: E501
            )
            event_id = str(uuid.uuid4())
            currency = "USD" if CITIES[city][1] in ("US", "CA", "MX") else "EUR"
            rows.append(
                (
                    event_id,
                    org,
                    title,
                    slugify(title)[:200],
                    description,
                    self.category_ids[category],
                    venue_id,
                    starts,
                    ends,
                    tz,
                    currency,
                    "published",
                    10,
                    None,
                    performers,
                    self.now,
                    self.now,
                    0,
                    0,
                    "",
                )
            )
            events.append(
                {
                    "id": event_id,
                    "org": org,
                    "past": past,
                    "starts": starts,
                    "ends": ends,
                    "venue": venue_id,
                    "conference": conference,
                    "currency": currency,
                    "quality": rng.uniform(2.6, 4.8),
                }
            )
        self.copy(
            "events_event",
            [
                "id",
                "organization_id",
                "title",
                "slug",
                "description",
                "category_id",
                "venue_id",
                "starts_at",
                "ends_at",
                "time_zone",
                "currency",
                "status",
                "hold_minutes",
                "max_per_buyer",
                "performers",
                "created_at",
                "updated_at",
                "rating_count",
                "rating_sum",
                "search_text",
            ],
            rows,
        )
        self.tiers(events)
        return events

    def tiers(self, events: list[dict[str, Any]]) -> None:
        plan, rng = self.plan, self.rng
        active = [e for e in events if not e["past"]]
        past = [e for e in events if e["past"]]
        past_total = int(plan.tickets * PAST_SHARE)
        cap = plan.attendees  # each holder at most once per event
        for group, total in ((active, plan.tickets - past_total), (past, past_total)):
            for event, sold in zip(
                group, zipf_counts(total, len(group), 0.9, rng, cap), strict=True
            ):
                event["sold"] = sold
        rows = []
        for event in events:
            names = rng.choice(
                [["General admission"], ["Standard", "VIP"], ["Early bird", "Regular", "Late"]]
            )
            free = rng.random() < 0.08
            base = (
                Decimal(0)
                if free
                else Decimal(rng.choice([8, 12, 15, 19, 25, 35, 49, 65, 89, 120]))
            )
            split = self._split(event["sold"], len(names))
            event["tiers"] = []
            sold_out = not event["past"] and rng.random() < 0.05
            for position, (name, sold) in enumerate(zip(names, split, strict=True)):
                tier_id = str(uuid.uuid4())
                price = (
                    base if free else (base * Decimal(1 + 0.6 * position)).quantize(Decimal("1.00"))
                )
                capacity = sold if sold_out else sold + rng.randint(0, max(20, sold // 3))
                rows.append(
                    (tier_id, event["id"], name, price, capacity, sold, 10, None, None, position)
                )
                event["tiers"].append((tier_id, price, sold))
        self.copy(
            "events_tickettier",
            [
                "id",
                "event_id",
                "name",
                "price",
                "capacity",
                "sold_count",
                "max_per_order",
                "sales_start",
                "sales_end",
                "position",
            ],
            rows,
        )

    def _split(self, total: int, parts: int) -> list[int]:
        if parts == 1:
            return [total]
        shares = [self.rng.uniform(0.5, 1.5) for _ in range(parts)]
        counts = [int(total * s / sum(shares)) for s in shares]
        counts[0] += total - sum(counts)
        return counts

    # --- Sessions for conferences ------------------------------------------------------------

    def agendas(self, events: list[dict[str, Any]]) -> None:
        rng = self.rng
        rooms, sessions, links, speakers = [], [], [], []
        room_id, speaker_id = self._next_id("events_room"), self._next_id("events_speaker")
        session_speaker_id = self._next_id("events_session_speakers")
        speakers_by_org: dict[str, list[int]] = {}
        venue_rooms: dict[int, list[int]] = {}
        used: dict[int, list[tuple[datetime, datetime]]] = {}
        touched = []
        for event in events:
            if not event["conference"]:
                continue
            touched.append(event["id"])
            org = event["org"]
            if org not in speakers_by_org:
                speakers_by_org[org] = []
                for _ in range(rng.randint(8, 30)):
                    speakers.append(
                        (
                            speaker_id,
                            org,
                            f"{rng.choice(FIRST)} {rng.choice(LAST)} #{speaker_id}",
                            "",
                        )
                    )
                    speakers_by_org[org].append(speaker_id)
                    speaker_id += 1
            if event["venue"] not in venue_rooms:
                venue_rooms[event["venue"]] = []
                for k in range(rng.randint(2, 5)):
                    rooms.append((room_id, event["venue"], f"Room {chr(65 + k)}", k))
                    venue_rooms[event["venue"]].append(room_id)
                    room_id += 1
            day = event["starts"]
            while day + timedelta(hours=8) <= event["ends"]:
                for room in venue_rooms[event["venue"]]:
                    slot = day + timedelta(minutes=30)
                    for _ in range(rng.randint(3, 6)):
                        end = slot + timedelta(minutes=rng.choice([30, 45, 60]))
                        if end > event["ends"]:
                            break
                        # Two events at one venue may overlap in time: keep rooms exclusive.
                        if not any(s < end and slot < e for s, e in used.get(room, [])):
                            used.setdefault(room, []).append((slot, end))
                            session_id = str(uuid.uuid4())
                            topic = rng.choice(
                                ["Scaling", "Testing", "Designing", "Securing", "Shipping"]
                            )
                            capacity = rng.choice([None, None, 40, 80])
                            sessions.append(
                                (
                                    session_id,
                                    event["id"],
                                    room,
                                    None,
                                    f"{topic} {rng.choice(GENRE_WORDS['Conference'])} in practice",
                                    "",
                                    slot,
                                    end,
                                    capacity,
                                    0,
                                )
                            )
                            for sp in rng.sample(speakers_by_org[org], k=rng.randint(1, 2)):
                                links.append((session_speaker_id, session_id, sp))
                                session_speaker_id += 1
                        slot = end + timedelta(minutes=15)
                day += timedelta(days=1)
        self.copy("events_speaker", ["id", "organization_id", "name", "bio"], speakers)
        self.copy("events_room", ["id", "venue_id", "name", "position"], rooms)
        self.copy(
            "events_session",
            [
                "id",
                "event_id",
                "room_id",
                "track_id",
                "title",
                "description",
                "starts_at",
                "ends_at",
                "capacity",
                "seats_taken",
            ],
            sessions,
        )
        self.copy("events_session_speakers", ["id", "session_id", "speaker_id"], links)
        for table in ("events_speaker", "events_room", "events_session_speakers"):
            self._sync_sequence(table)
        # Speakers are part of the search document: fire the trigger for these events.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_event SET title = title WHERE id = ANY(%s::uuid[])", [touched]
            )
        log(f"{len(sessions)} sessions in {len(rooms)} rooms for {len(touched)} conferences")

    # --- Orders, tickets, feedback -----------------------------------------------------------

    def sales(self, events: list[dict[str, Any]]) -> None:
        plan, rng = self.plan, self.rng
        attendees = self.user_ids[: plan.attendees]
        past_tickets = sum(e["sold"] for e in events if e["past"])
        chosen = set(rng.sample(range(past_tickets), min(plan.feedback, past_tickets)))
        past_index = 0
        line_id = self._next_id("ticketing_orderline")
        feedback_id = self._next_id("events_feedback")
        batch: dict[str, list[Sequence[Any]]] = {"o": [], "l": [], "t": [], "f": []}
        counts = {"orders": 0, "tickets": 0, "feedback": 0}
        with connection.cursor() as cursor:
            try:  # our rows are consistent by construction: skip per-row FK trigger checks
                cursor.execute("SET session_replication_role = replica")
            except Exception:
                log("could not skip FK triggers; loading with them")
        try:
            for event in events:
                holders = rng.sample(attendees, event["sold"])
                position = 0
                sold_from = event["starts"] - timedelta(days=60)
                for tier_id, price, sold in event["tiers"]:
                    end = position + sold
                    while position < end:
                        size = min(end - position, rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0])
                        order_id = str(uuid.uuid4())
                        buyer = holders[position]
                        bought = sold_from + timedelta(minutes=rng.randint(0, 60 * 24 * 59))
                        batch["o"].append(
                            (
                                order_id,
                                buyer,
                                event["id"],
                                "paid",
                                price * size,
                                event["currency"],
                                bought,
                                f"seed-{order_id}",
                                "",
                                bought,
                                bought,
                            )
                        )
                        batch["l"].append((line_id, order_id, tier_id, size, price))
                        line_id += 1
                        for k in range(size):
                            holder = holders[position + k]
                            name = self.user_names[holder - self.user_ids[0]]
                            batch["t"].append(
                                (
                                    str(uuid.uuid4()),
                                    order_id,
                                    event["id"],
                                    tier_id,
                                    holder,
                                    name,
                                    "valid",
                                    "seed:" + order_id,
                                    bought,
                                )
                            )
                            if event["past"]:
                                if past_index in chosen:
                                    rating = min(5, max(1, round(rng.gauss(event["quality"], 0.9))))
                                    comment = rng.choice(COMMENTS) if rng.random() < 0.25 else ""
                                    at = event["ends"] + timedelta(hours=rng.uniform(1, 24 * 13))
                                    at = min(at, self.now)
                                    batch["f"].append(
                                        (
                                            feedback_id,
                                            event["id"],
                                            holder,
                                            rating,
                                            comment,
                                            False,
                                            at,
                                            at,
                                        )
                                    )
                                    feedback_id += 1
                                past_index += 1
                        position += size
                if len(batch["t"]) >= 50_000:
                    self._flush(batch, counts)
            self._flush(batch, counts)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        for table in ("ticketing_orderline", "events_feedback"):
            self._sync_sequence(table)
        log(f"{counts}")

    def _flush(self, batch: dict[str, list[Sequence[Any]]], counts: dict[str, int]) -> None:
        counts["orders"] += self.copy(
            "ticketing_order",
            [
                "id",
                "buyer_id",
                "event_id",
                "status",
                "total",
                "currency",
                "expires_at",
                "idempotency_key",
                "request_digest",
                "created_at",
                "paid_at",
            ],
            batch["o"],
        )
        self.copy(
            "ticketing_orderline",
            ["id", "order_id", "tier_id", "quantity", "unit_price"],
            batch["l"],
        )
        counts["tickets"] += self.copy(
            "ticketing_ticket",
            [
                "id",
                "order_id",
                "event_id",
                "tier_id",
                "holder_id",
                "attendee_name",
                "status",
                "qr_payload",
                "issued_at",
            ],
            batch["t"],
        )
        counts["feedback"] += self.copy(
            "events_feedback",
            [
                "id",
                "event_id",
                "author_id",
                "rating",
                "comment",
                "hidden",
                "created_at",
                "updated_at",
            ],
            batch["f"],
        )
        for rows in batch.values():
            rows.clear()
        if counts["tickets"] and counts["tickets"] % 200_000 < 50_000:
            log(f"... {counts['tickets']:,} tickets")

    def totals(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE events_event e SET rating_count = f.n, rating_sum = f.total
                  FROM (SELECT event_id, count(*) AS n, sum(rating) AS total
                          FROM events_feedback GROUP BY event_id) f
                 WHERE f.event_id = e.id
                """
            )
            cursor.execute(
                """
                INSERT INTO events_organizerrating (organization_id, rating_count, rating_sum)
                SELECT organization_id, sum(rating_count), sum(rating_sum)
                  FROM events_event GROUP BY organization_id HAVING sum(rating_count) > 0
                ON CONFLICT (organization_id) DO UPDATE
                   SET rating_count = EXCLUDED.rating_count, rating_sum = EXCLUDED.rating_sum
                """
            )
            for table in (
                "accounts_user",
                "events_event",
                "events_venue",
                "events_tickettier",
                "events_session",
                "events_feedback",
                "ticketing_order",
                "ticketing_ticket",
                "ticketing_orderline",
                "events_organizerrating",
            ):
                cursor.execute(f"ANALYZE {table}")
