from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Organization, User
from events.models import Category, Event
from events.services import TierSpec, VenueSpec, event_cover_set, event_create, event_publish
from ops.demo_covers import demo_cover
from ops.demo_sales import demo_sales_seed
from ticketing.seating.services import SeatBlock, event_seating_apply, seat_map_create

PASSWORD = "boxoffice-demo"  # noqa: S105 - published demo credentials
CATEGORIES = ["Conference", "Festival", "Workshop", "Meetup", "Concert"]
DEMO_EVENTS = [
    (
        "PyCon Riverside 2027",
        "Conference",
        "Riverside Congress Centre",
        "Berlin",
        "Europe/Berlin",
        40,
        [("Conference pass", "249.00", 500), ("Student", "79.00", 100)],
        "Three days of talks, sprints and hallway track for the Python community.",
    ),
    (
        "Jazz Festival by the Lake",
        "Festival",
        "Lakeside Park",
        "Zurich",
        "Europe/Zurich",
        60,
        [("Day ticket", "65.00", 2000), ("Weekend", "120.00", 800)],
        "Open-air jazz on three stages, from trios to big bands.",
    ),
    (
        "Hands-on Django Workshop",
        "Workshop",
        "Makerspace Loft",
        "London",
        "Europe/London",
        15,
        [("Seat", "150.00", 25)],
        "Build and deploy a production Django app in one day.",
    ),
    (
        "Data Engineering Meetup",
        "Meetup",
        "Tech Hub",
        "Berlin",
        "Europe/Berlin",
        8,
        [("Free entry", "0.00", 120)],
        "Lightning talks on pipelines, lakes and warehouses.",
    ),
    (
        "Symphony Night",
        "Concert",
        "City Hall",
        "Vienna",
        "Europe/Vienna",
        25,
        [("Parterre", "90.00", 400), ("Balcony", "55.00", 250)],
        "Beethoven's Fifth and Dvořák's New World symphony.",
    ),
    (
        "Last-Ticket Indie Gig",
        "Concert",
        "Basement Club",
        "London",
        "Europe/London",
        5,
        [("Standing", "20.00", 3)],
        "A tiny room, a loud band, very few tickets.",
    ),
]

# Assigned seating for one demo event: blocks per tier, so its capacities are its seats.
SEATED = {
    "Symphony Night": {
        "Parterre": SeatBlock(
            section="Parterre", rows=16, seats_per_row=25, zone="Parterre", aisles_after=(6, 19)
        ),
        "Balcony": SeatBlock(
            section="Balcony", rows=10, seats_per_row=25, zone="Balcony", aisles_after=(12,), y=18
        ),
    }
}


class Command(BaseCommand):
    help = (
        "Create demo users, an organization, published events and their sales (safe to run again)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--without-sales", action="store_true", help="events only: no orders, scans or ratings"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in CATEGORIES:
            Category.objects.get_or_create(slug=name.lower(), defaults={"name": name})
        accounts = [
            ("admin@boxoffice.local", "admin", None, "Ada Admin"),
            ("organizer@boxoffice.local", "organizer", "Demo Events Ltd", "Olga Organizer"),
            ("door@boxoffice.local", "door", "Demo Events Ltd", "Dario Door"),
            ("attendee@boxoffice.local", "attendee", None, "Alex Attendee"),
        ]
        for email, role, org_name, name in accounts:
            extra = ["--organization", org_name] if org_name else []
            call_command(
                "create_user",
                "--email",
                email,
                "--password",
                PASSWORD,
                "--role",
                role,
                "--name",
                name,
                *extra,
                stdout=self.stdout,
            )
        organizer = User.objects.get(email="organizer@boxoffice.local")
        organization = Organization.objects.get(name="Demo Events Ltd")
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        for title, category, venue, city, tz, days, tiers, description in DEMO_EVENTS:
            if Event.objects.filter(organization=organization, title=title).exists():
                continue
            starts = now + timedelta(days=days, hours=2)
            event = event_create(
                actor=organizer,
                organization=organization,
                title=title,
                description=description,
                category=Category.objects.get(name=category),
                time_zone=tz,
                venue=VenueSpec(name=venue, city=city, address=f"1 {venue} Street"),
                starts_at=starts,
                ends_at=starts + timedelta(hours=6),
                tiers=[TierSpec(name=n, price=Decimal(p), capacity=c) for n, p, c in tiers],
            )
            if title in SEATED:
                blocks = SEATED[title]
                seat_map = seat_map_create(
                    user=organizer,
                    venue=event.venue,
                    name="Concert layout",
                    blocks=list(blocks.values()),
                )
                event_seating_apply(
                    user=organizer,
                    event=event,
                    seat_map=seat_map,
                    zone_tiers={zone: event.tiers.get(name=zone).pk for zone in blocks},
                )
            event_publish(actor=organizer, event=event)
        for event in Event.objects.filter(organization=organization, cover_image=""):
            category_name = event.category.name if event.category else ""
            picture = demo_cover(event.title, category_name)
            event_cover_set(
                actor=organizer,
                event=event,
                image=SimpleUploadedFile(f"{event.slug}.png", picture, content_type="image/png"),
            )
            Event.objects.filter(pk=event.pk).update(cover_alt="")  # decorative: the title says it
        if not options["without_sales"] and demo_sales_seed(
            organization=organization,
            organizer=organizer,
            door=User.objects.get(email="door@boxoffice.local"),
            attendee=User.objects.get(email="attendee@boxoffice.local"),
        ):
            self.stdout.write("Demo sales: orders over four weeks, and a past event with scans.")
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo logins (password for all: {PASSWORD})\n"
                "  admin      admin@boxoffice.local       /admin/\n"
                "  organizer  organizer@boxoffice.local   /manage/\n"
                "  door staff door@boxoffice.local        /door/\n"
                "  attendee   attendee@boxoffice.local    /events/\n"
            )
        )
