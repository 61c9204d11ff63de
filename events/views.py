import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import organizations_managed_by
from core.errors import DomainError
from core.http import AuthedRequest
from events import agenda, feedback, questions, services
from events.cache import cached, cached_event_page
from events.feedback import can_give_feedback
from events.forms import (
    AnswersDeadlineForm,
    EventFilterForm,
    EventForm,
    FeedbackForm,
    QuestionForm,
    ReplyForm,
    SessionForm,
    TierFormSet,
)
from events.models import AgendaFeed, Event, TicketTier
from events.presentation import (
    absolute,
    event_ics,
    event_json_ld,
    markdown_html,
    sessions_ics,
)
from events.search import event_search
from events.selectors import (
    categories,
    clashing_ids,
    event_availability_refresh,
    event_comments,
    event_managed_by,
    event_sessions,
    events_managed_by,
    feedback_managed,
    feedback_managed_by,
    my_feedback,
    published_event,
    rating_distribution,
    session_public,
    starred_session_ids,
    starred_sessions,
    timetable,
)


def _anonymous(request: HttpRequest) -> bool:
    """Pages for these visitors are the same for everyone, so they can come from the cache."""
    return not request.user.is_authenticated and "messages" not in request.COOKIES


def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    params = form.params(page=request.GET.get("page", 1))
    query_string = request.GET.copy()
    query_string.pop("page", None)

    def build() -> str:
        result = event_search(params)
        return render_to_string(
            "events/list.html",
            {
                "form": form,
                "result": result,
                "categories": categories(),
                "query_string": query_string.urlencode(),
                "page_numbers": _page_numbers(result.page, result.num_pages),
            },
            request=request,
        )

    if _anonymous(request):
        html = cached("listing", "page", f"{get_language()}:{request.get_full_path()}", build)
    else:
        html = build()
    return HttpResponse(html)


def _page_numbers(page: int, pages: int) -> list[int]:
    return sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})


def _detail_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    tiers = list(event.tiers.all())
    sessions = event_sessions(event)
    user = request.user
    starred = starred_session_ids(user, event)  # type: ignore[arg-type]
    mine = my_feedback(user, event)  # type: ignore[arg-type]
    description = event.text_in("description", get_language())
    return {
        "event": event,
        "title": event.text_in("title", get_language()),
        "description": description,
        "tiers": tiers,
        "all_sold_out": not any(t.available for t in tiers),
        "description_html": markdown_html(description),
        "sessions": sessions,
        "starred": starred,
        "clashes": clashing_ids([s for s in sessions if s.pk in starred]),
        "distribution": rating_distribution(event) if event.rating_count else [],
        "comments": event_comments(event) if event.rating_count else [],
        "my_feedback": mine,
        "feedback_form": FeedbackForm(
            initial={"rating": mine.rating, "comment": mine.comment} if mine else None
        ),
        "can_rate": bool(user.is_authenticated and can_give_feedback(user=user, event=event)),
        "json_ld": event_json_ld(event, tiers, sessions, language=get_language()),
        "share_url": absolute(event.get_absolute_url()),
        "idempotency_key": uuid.uuid4().hex,
    }


TIERS_MARK = mark_safe("<!--boxoffice:tiers-->")  # nosec B308 - a constant, no input


def event_detail(request: HttpRequest, event_id: Any, slug: str | None = None) -> HttpResponse:
    if _anonymous(request):
        # The page is cached until an organizer edits it; the ticket table beside it for a few
        # seconds (EVENTS_AVAILABILITY_SECONDS), so its numbers are never older than that.
        def build_shell() -> tuple[int, str, str]:
            event = published_event(event_id)
            if slug != event.slug:
                return 301, event.get_absolute_url(), ""
            context = _detail_context(request, event) | {"tiers_mark": TIERS_MARK}
            return 200, "", render_to_string("events/detail.html", context, request=request)

        def build_table() -> str:
            # Expired holds go back on sale as the page is read, even if the beat worker is
            # behind (at most once per EVENTS_AVAILABILITY_SECONDS, when the table is rebuilt).
            event_availability_refresh(event_id)
            tiers = list(TicketTier.objects.filter(event_id=event_id).select_related("event"))
            return get_template("events/_tiers.html").render(
                {
                    "event": tiers[0].event if tiers else None,
                    "tiers": tiers,
                    "all_sold_out": not any(t.available for t in tiers),
                    "user": request.user,
                    "request": request,
                }
            )

        (status, location, shell), table = cached_event_page(
            event_id, f"detail:{get_language()}:{slug}", build_shell, build_table
        )
        if status == 301:
            return redirect(location)
        return HttpResponse(shell.replace(TIERS_MARK, table, 1))
    event = published_event(event_id)
    # Expired holds go back on sale as the page is read, even if the beat worker is behind.
    if event_availability_refresh(event.pk):
        event = published_event(event_id)
    if slug != event.slug:
        return redirect("events:detail_slug", event_id=event.pk, slug=event.slug)
    return render(request, "events/detail.html", _detail_context(request, event))


def event_calendar(request: HttpRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    return _ics(event_ics(event, language=get_language()), f"{event.slug or 'event'}.ics")


def event_agenda_feed(request: HttpRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    sessions = event_sessions(event)
    for session in sessions:
        session.event = event  # the feed names the event; it is the same row for all
    language = get_language()
    name = _("%(title)s – agenda") % {"title": event.text_in("title", language)}
    return _ics(sessions_ics(name, sessions, language=language), f"{event.slug}-agenda.ics")


def _ics(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def event_timetable(request: HttpRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    sessions = event_sessions(event)
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = None
    days, grid = timetable(event, sessions, day)
    starred = starred_session_ids(request.user, event)  # type: ignore[arg-type]
    return render(
        request,
        "events/timetable.html",
        {
            "event": event,
            "days": days,
            "grid": grid,
            "starred": starred,
            "clashes": clashing_ids([s for s in sessions if s.pk in starred]),
        },
    )


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.headers.get("referer") or fallback
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return fallback
    return target


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("accept", "")


@login_required
@require_POST
def session_star_view(request: AuthedRequest, session_id: Any) -> HttpResponse:
    session = session_public(session_id)
    fallback = reverse("events:timetable", args=[session.event_id])
    clashes: list[str] = []
    try:
        if request.POST.get("action") == "unstar":
            agenda.session_unstar(user=request.user, session_id=session.pk)
            starred = False
        else:
            result = agenda.session_star(user=request.user, session_id=session.pk)
            starred = True
            clashes = [c.title for c in result.clashes]
    except DomainError as exc:
        if _wants_json(request):
            return JsonResponse(exc.as_dict(), status=exc.status)
        messages.error(request, exc.detail_message)
        return redirect(_back(request, fallback))
    if _wants_json(request):
        return JsonResponse({"starred": starred, "clashes": clashes})
    if clashes:
        messages.warning(
            request,
            _("“%(title)s” overlaps %(others)s.")
            % {"title": session.title, "others": ", ".join(f"“{c}”" for c in clashes)},
        )
    else:
        messages.success(request, _("Added to your agenda.") if starred else "Removed.")
    return redirect(_back(request, fallback))


@login_required
def my_agenda(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        agenda.agenda_feed_rotate(user=request.user)
        messages.success(request, _("New calendar link made; the old one no longer works."))
        return redirect("events:my_agenda")
    sessions = starred_sessions(request.user)
    feed = agenda.agenda_feed_for(user=request.user)
    return render(
        request,
        "events/my_agenda.html",
        {
            "sessions": sessions,
            "clashes": clashing_ids(sessions),
            "feed_url": absolute(reverse("events:agenda_feed", args=[feed.token])),
        },
    )


def personal_agenda_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Calendar apps cannot log in: the secret in the URL is the credential."""
    feed = AgendaFeed.objects.filter(token=token).select_related("user").first()
    if feed is None or not token:
        raise Http404("Unknown feed")
    # A calendar app fetches the feed without cookies: it speaks its owner's language.
    with translation.override(feed.user.language or settings.LANGUAGE_CODE):
        language = get_language()
        body = sessions_ics(_("My agenda"), starred_sessions(feed.user), language=language)
    return _ics(body, "my-agenda.ics")


@login_required
def my_agenda_ics(request: AuthedRequest) -> HttpResponse:
    sessions = starred_sessions(request.user)
    return _ics(sessions_ics(_("My agenda"), sessions, language=get_language()), "my-agenda.ics")


@login_required
@require_POST
def feedback_give(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose 1 to 5 stars (and keep the comment under 4,000 characters).")
        )
        return redirect(event.get_absolute_url() + "#feedback")
    mine = my_feedback(request.user, event)
    try:
        if mine is None:
            feedback.feedback_submit(author=request.user, event=event, **form.cleaned_data)
        else:
            feedback.feedback_edit(author=request.user, feedback_id=mine.pk, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.detail_message)
    else:
        messages.success(request, _("Thank you for your feedback."))
    return redirect(event.get_absolute_url() + "#feedback")


# --- Organizer pages ---------------------------------------------------------------------------


@login_required
def manage_list(request: AuthedRequest) -> HttpResponse:
    organizations = list(organizations_managed_by(request.user))
    if not organizations:
        raise Http404("You do not manage any organization.")
    events = events_managed_by(request.user)
    status = request.GET.get("status")
    if status in Event.Status.values:
        events = events.filter(status=status)
    q = request.GET.get("q", "").strip()
    if q:
        events = events.filter(title__icontains=q)
    return render(
        request,
        "events/manage_list.html",
        {
            "events": events,
            "organizations": organizations,
            "statuses": Event.Status.choices,
            "status": status,
            "q": q,
        },
    )


@login_required
def manage_create(request: AuthedRequest) -> HttpResponse:
    organizations = list(organizations_managed_by(request.user))
    if not organizations:
        raise Http404("You do not manage any organization.")
    form = EventForm(request.POST or None, request.FILES or None)
    tiers = TierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        organization = next(
            (o for o in organizations if str(o.pk) == request.POST.get("organization")),
            organizations[0],
        )
        try:
            event = services.event_create(
                actor=request.user,
                organization=organization,
                venue=form.venue_spec(),
                tiers=[t.spec() for t in tiers if t.has_changed() and t.cleaned_data],
                **form.event_fields(),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            changed, image = form.cover_change()
            if changed and image is not None:
                services.event_cover_set(actor=request.user, event=event, image=image)
            messages.success(request, _("Draft created. Publish it when you are ready."))
            return redirect("events:manage_edit", event_id=event.pk)
    return render(
        request,
        "events/manage_new.html",
        {
            "form": form,
            "tiers": tiers,
            "organizations": organizations,
            "event": None,
        },
    )


@login_required
def manage_edit(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    if request.method == "POST":
        form = EventForm(request.POST, request.FILES)
        tiers = TierFormSet(request.POST, prefix="tiers")
    else:
        form = EventForm(initial=EventForm.initial_for(event))
        tiers = TierFormSet(
            prefix="tiers",
            initial=[
                {
                    "id": t.pk,
                    "name": t.name,
                    "price": t.price,
                    "capacity": t.capacity,
                    "max_per_order": t.max_per_order,
                }
                for t in event.tiers.all()
            ],
        )
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            services.event_update(
                actor=request.user,
                event=event,
                venue=form.venue_spec(),
                tiers=[t.spec() for t in tiers if t.cleaned_data],
                **form.event_fields(),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            changed, image = form.cover_change()
            if changed:
                services.event_cover_set(actor=request.user, event=event, image=image)
            messages.success(request, _("Saved."))
            return redirect("events:manage_edit", event_id=event.pk)
    return render(
        request,
        "events/manage_form.html",
        {
            "form": form,
            "tiers": tiers,
            "event": event,
        },
    )


# What cannot be undone asks the organizer to type the event's name, so a slip of the finger on
# the wrong event's page does nothing.
CONFIRM_BY_NAME = {"cancel", "delete"}


def _names_event(typed: str | None, event: Event) -> bool:
    return " ".join((typed or "").split()).casefold() == " ".join(event.title.split()).casefold()


def _manage_action(action: str) -> Callable[..., HttpResponse]:
    service, done = {
        "publish": (services.event_publish, "Published: tickets are on sale."),
        "cancel": (services.event_cancel, "Event cancelled."),
        "delete": (services.event_delete, "Draft deleted."),
    }[action]

    @login_required
    @require_POST
    def view(request: AuthedRequest, event_id: Any) -> HttpResponse:
        event = event_managed_by(request.user, event_id)
        if action in CONFIRM_BY_NAME and not _names_event(request.POST.get("confirm_name"), event):
            messages.error(
                request,
                (_("Type the event's name, “%(title)s”, to confirm.") % {"title": event.title}),
            )
            return redirect("events:manage_edit", event_id=event.pk)
        try:
            service(actor=request.user, event=event)
        except DomainError as exc:
            messages.error(request, exc.detail_message)
            return redirect("events:manage_edit", event_id=event.pk)
        messages.success(request, done)
        if action == "delete":
            return redirect("events:manage_list")
        return redirect("events:manage_edit", event_id=event.pk)

    view.__name__ = f"manage_{action}"
    return view


manage_publish = _manage_action("publish")
manage_cancel = _manage_action("cancel")
manage_delete = _manage_action("delete")


# --- Organizer: agenda and feedback -------------------------------------------------------------


@login_required
def manage_sessions(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    session_id = request.GET.get("session") or request.POST.get("session_id") or None
    sessions = event_sessions(event)
    editing = next((s for s in sessions if str(s.pk) == session_id), None)
    if request.method == "POST" and request.POST.get("action") == "delete" and editing:
        agenda.session_delete(actor=request.user, session=editing)
        messages.success(request, _("Session removed."))
        return redirect("events:manage_sessions", event_id=event.pk)
    if request.method == "POST":
        form = SessionForm(request.POST, time_zone=event.time_zone)
    else:
        initial = None
        if editing:
            fmt = "%Y-%m-%dT%H:%M"
            initial = {
                "title": editing.title,
                "description": editing.description,
                "starts_at": timezone.localtime(editing.starts_at, event.tz).strftime(fmt),
                "ends_at": timezone.localtime(editing.ends_at, event.tz).strftime(fmt),
                "room": editing.room.name if editing.room else "",
                "track": editing.track.name if editing.track else "",
                "speakers": ", ".join(s.name for s in editing.speakers.all()),
                "capacity": editing.capacity,
            }
        form = SessionForm(initial=initial, time_zone=event.time_zone)
    if request.method == "POST" and form.is_valid():
        try:
            saved = agenda.session_save(
                actor=request.user,
                event=event,
                session_id=editing.pk if editing else None,
                **form.service_kwargs(),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            for warning in saved.warnings:
                messages.warning(request, warning)
            messages.success(request, (_("Saved “%(title)s”.") % {"title": saved.session.title}))
            return redirect("events:manage_sessions", event_id=event.pk)
    return render(
        request,
        "events/manage_sessions.html",
        {"event": event, "sessions": sessions, "form": form, "editing": editing},
    )


@login_required
def manage_feedback(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    return render(
        request,
        "events/manage_feedback.html",
        {
            "event": event,
            "entries": feedback_managed_by(request.user, event)[:200],
            "distribution": rating_distribution(event),
            "reply_form": ReplyForm(),
        },
    )


@login_required
@require_POST
def manage_feedback_action(request: AuthedRequest, feedback_id: Any) -> HttpResponse:
    entry = feedback_managed(request.user, feedback_id)
    action = request.POST.get("action")
    try:
        if action in ("hide", "show"):
            feedback.feedback_hide(actor=request.user, feedback=entry, hidden=action == "hide")
            messages.success(
                request, _("Comment hidden.") if action == "hide" else "Comment shown."
            )
        else:
            form = ReplyForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("A reply needs 1 to 4,000 characters."))
            else:
                feedback.feedback_reply(
                    actor=request.user, feedback=entry, body=form.cleaned_data["body"]
                )
                messages.success(request, _("Reply published."))
    except DomainError as exc:
        messages.error(request, exc.detail_message)
    return redirect("events:manage_feedback", event_id=entry.event_id)


@login_required
def manage_questions(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The questions each attendee answers at checkout: add, list, remove; and until when
    buyers may change their answers after paying."""
    event = event_managed_by(request.user, event_id)
    tiers = list(event.tiers.all())
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "delete":
        questions.question_delete(
            actor=request.user, event=event, question_id=request.POST.get("question_id")
        )
        messages.success(request, _("Question removed; answers already given are kept."))
        return redirect("events:manage_questions", event_id=event.pk)
    adding = request.method == "POST" and action != "deadline"
    form = QuestionForm(request.POST if adding else None, tiers=tiers)
    deadline_form = AnswersDeadlineForm(request.POST if action == "deadline" else None, event=event)
    status = 200
    if action == "deadline":
        if deadline_form.is_valid():
            questions.answers_deadline_set(
                actor=request.user, event=event, until=deadline_form.cleaned_data["until"]
            )
            messages.success(request, _("Answer deadline saved."))
            return redirect("events:manage_questions", event_id=event.pk)
        status = 422
    elif adding:
        if form.is_valid():
            try:
                added = questions.question_create(
                    actor=request.user, event=event, **form.service_kwargs()
                )
            except DomainError as exc:
                form.add_error(None, exc.detail_message)
            else:
                messages.success(request, (_("Added “%(label)s”.") % {"label": added.label}))
                return redirect("events:manage_questions", event_id=event.pk)
        status = 422
    return render(
        request,
        "events/manage_questions.html",
        {
            "event": event,
            "form": form,
            "deadline_form": deadline_form,
            "answers_deadline": questions.answers_deadline(event),
            "questions": questions.event_questions(event.pk),
        },
        status=status,
    )
