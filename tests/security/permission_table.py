"""The permission matrix: for every route, the status each role gets.

Roles, in the order of every row: anonymous, attendee (bought tickets of organization A),
door staff of organization B, manager of A, owner of B, owner of A, admin (staff with a second
factor, member of no organization). Path parameters are ids of organization A's objects.

A key is a URL name (`events:detail`), an unnamed route's pattern, or "METHOD /api/v1/path"; a
key with `*` covers every route it matches (only the Django admin, which guards all its routes
with one rule).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Rule:
    statuses: tuple[int, int, int, int, int, int, int]
    method: str = "GET"
    # Path parameter -> the name of the world value to fill it with, where the default (the
    # parameter's own name) is not the right one.
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


def rule_for(table: Mapping[str, Rule], key: str) -> Rule | None:
    if key in table:
        return table[key]
    return next(
        (r for pattern, r in table.items() if "*" in pattern and fnmatchcase(key, pattern)), None
    )


#             anon attendee door_B manager owner_B owner admin
PUBLIC = (200, 200, 200, 200, 200, 200, 200)
NOBODY = (404, 404, 404, 404, 404, 404, 404)  # a link whose token or object does not exist
SIGNED_IN_NOBODY = (302, 404, 404, 404, 404, 404, 404)  # someone's own object; none has this id
SIGNED_IN = (302, 200, 200, 200, 200, 200, 200)
SIGNED_OUT_ONLY = (200, 302, 302, 302, 302, 302, 302)  # sign-in and sign-up pages
ALLAUTH_FLOW = (302, 302, 302, 302, 302, 302, 302)  # a step that needs a flow in progress
BUYER = (302, 200, 404, 404, 404, 404, 404)  # the attendee's own order
ORGANIZER = (302, 404, 404, 200, 404, 200, 404)  # managers and owners of A
ORGANIZER_LISTS = (302, 404, 404, 200, 200, 200, 404)  # each organizer sees their own
OWNER = (302, 404, 404, 404, 404, 200, 404)
ADMIN_ONLY = (302, 302, 302, 302, 302, 302, 200)
# POSTed forms: a refusal is 404 for outsiders, the owner's action redirects back.
ORGANIZER_ACTION = (302, 404, 404, 302, 404, 302, 404)
SIGNED_IN_ACTION = (302, 302, 302, 302, 302, 302, 302)
BUYER_ACTION = (302, 302, 404, 404, 404, 404, 404)
# An empty form past the permission check is a 422 with the form's errors.
SIGNED_IN_FORM = (302, 422, 422, 422, 422, 422, 422)
ORGANIZER_FORM = (302, 404, 404, 422, 404, 422, 404)
ORGANIZER_JSON = (302, 404, 404, 400, 404, 400, 404)  # the scanner's JSON, here empty
# The API: no token is 401; someone else's object is 404, never a 403 that confirms it exists.
API_SIGNED_IN = (401, 200, 200, 200, 200, 200, 200)
API_BUYER = (401, 200, 404, 404, 404, 404, 404)
API_ORGANIZER = (401, 404, 404, 200, 404, 200, 404)
API_NOBODY = (401, 404, 404, 404, 404, 404, 404)


def post(
    statuses: tuple[int, int, int, int, int, int, int],
    params: Mapping[str, str] | None = None,
    **body: Any,
) -> Rule:
    return Rule(statuses, method="POST", params=params or {}, body=body)


PAGE_TABLE: dict[str, Rule] = {
    # --- site -------------------------------------------------------------------------------
    "home": Rule(PUBLIC),
    "healthz": Rule(PUBLIC),
    "script_messages": Rule(PUBLIC),  # the scripts' words in a language, the same for everyone
    "readyz": Rule(PUBLIC),
    "metrics": Rule(PUBLIC),  # deploy/ keeps it off the public edge; the app serves it plainly
    "set_language": post(ALLAUTH_FLOW, language="de"),
    "^media/(?P<path>.*)$": Rule(NOBODY),
    # --- accounts (allauth) -------------------------------------------------------------------
    "account_login": Rule(SIGNED_OUT_ONLY),
    "account_signup": Rule(SIGNED_OUT_ONLY),
    "account_logout": Rule(SIGNED_IN),
    "account_inactive": Rule(PUBLIC),
    "account_reauthenticate": Rule(SIGNED_IN),
    "account_email": Rule(SIGNED_IN),
    "account_email_verification_sent": Rule(PUBLIC),
    "account_change_password": Rule(SIGNED_IN),
    "account_set_password": Rule(ALLAUTH_FLOW),  # everyone here already has a password
    "account_reset_password": Rule(PUBLIC),
    "account_reset_password_done": Rule(PUBLIC),
    "account_reset_password_from_key": Rule(PUBLIC),  # an unknown key renders "bad token"
    "account_reset_password_from_key_done": Rule(PUBLIC),
    "account_confirm_login_code": Rule(ALLAUTH_FLOW),
    "account_confirm_email": Rule(PUBLIC),  # an unknown key renders "expired or invalid"
    "mfa_index": Rule(SIGNED_IN),
    "mfa_authenticate": Rule(ALLAUTH_FLOW),
    "mfa_reauthenticate": Rule((302, 302, 302, 302, 302, 302, 200)),  # only with a factor
    "mfa_activate_totp": Rule(ALLAUTH_FLOW),  # asks to re-authenticate first
    "mfa_deactivate_totp": Rule((302, 404, 404, 404, 404, 404, 302)),
    "mfa_view_recovery_codes": Rule((302, 404, 404, 404, 404, 404, 404)),
    "mfa_generate_recovery_codes": Rule(ALLAUTH_FLOW),
    "mfa_download_recovery_codes": Rule((302, 404, 404, 404, 404, 404, 404)),
    "mfa_list_webauthn": Rule(SIGNED_IN),
    "mfa_add_webauthn": Rule(ALLAUTH_FLOW),
    "mfa_reauthenticate_webauthn": Rule(ALLAUTH_FLOW),
    "mfa_remove_webauthn": Rule(ALLAUTH_FLOW),
    "mfa_edit_webauthn": Rule(ALLAUTH_FLOW),
    "mfa_login_webauthn": Rule(ALLAUTH_FLOW),
    "usersessions_list": Rule(SIGNED_IN),
    "accounts:unlock": Rule(PUBLIC),
    # The organization trail is for owners; admins read every trail in the admin.
    "accounts:audit": Rule((302, 403, 403, 403, 200, 200, 403)),
    "accounts:organization_security": Rule(OWNER),
    # Signing in with an external OpenID Connect provider (allauth social accounts).
    "socialaccount_login_cancelled": Rule(PUBLIC),
    "socialaccount_login_error": Rule((401,) * 7),  # allauth's error page says 401
    "socialaccount_signup": Rule(ALLAUTH_FLOW),  # only with a social sign-in in progress
    "socialaccount_connections": Rule(SIGNED_IN),
    # allauth's old addresses, moved for good to accounts/3rdparty/.
    "accounts/social/login/cancelled/": Rule((301,) * 7),
    "accounts/social/login/error/": Rule((301,) * 7),
    "accounts/social/signup/": Rule((301,) * 7),
    "accounts/social/connections/": Rule((301,) * 7),
    "openid_connect_login": Rule(NOBODY),  # no such provider in this world
    "openid_connect_callback": Rule(NOBODY),
    "accounts:organization_logo": Rule(OWNER),
    "accounts:organization_integrations": Rule(OWNER),
    # --- privacy: each person's own data; retention is the owner's ---------------------------
    "privacy:home": Rule(SIGNED_IN),
    "privacy:export_start": post(SIGNED_IN_ACTION),
    "privacy:export_status": Rule(SIGNED_IN_NOBODY),  # no export of that id
    # Without its signed link a download is refused as a link that has expired.
    "privacy:export_download": Rule((302, 410, 410, 410, 410, 410, 410)),
    "privacy:consent": post(SIGNED_IN_ACTION),
    "privacy:erase": Rule(SIGNED_IN),
    "privacy:organization_retention": Rule(OWNER),
    # --- OAuth2 / OpenID Connect provider (django-oauth-toolkit) ------------------------------
    # Without client_id and the rest, the request is refused after sign-in.
    "oauth2_provider:authorize": Rule((302, 400, 400, 400, 400, 400, 400)),
    "oauth2_provider:token": post((400,) * 7),
    "oauth2_provider:revoke-token": post((400,) * 7),
    "oauth2_provider:introspect": Rule((403,) * 7),  # only for a protected resource's token
    "oauth2_provider:authorized-token-list": Rule(SIGNED_IN),
    "oauth2_provider:authorized-token-delete": Rule(SIGNED_IN_NOBODY),
    "oauth2_provider:list": Rule(SIGNED_IN),
    "oauth2_provider:register": Rule(SIGNED_IN),
    "oauth2_provider:detail": Rule(SIGNED_IN_NOBODY),  # each sees only their own apps
    "oauth2_provider:delete": Rule(SIGNED_IN_NOBODY),
    "oauth2_provider:update": Rule(SIGNED_IN_NOBODY),
    "oauth2_provider:oidc-connect-discovery-info": Rule(PUBLIC),
    "oauth2_provider:jwks-info": Rule(PUBLIC),
    "oauth2_provider:user-info": Rule((401,) * 7),
    # --- the Django admin: one guard for all its routes, staff with a second factor ----------
    "admin:*": Rule(ADMIN_ONLY),
    "admin/*": Rule(ALLAUTH_FLOW),  # an object's bare URL redirects to its change page
    "admin:login": Rule((302, 403, 403, 403, 403, 403, 302)),
    "admin:logout": Rule((302, 302, 302, 302, 302, 302, 405)),  # signing out is a POST
    "admin:autocomplete": Rule((302, 302, 302, 302, 302, 302, 403)),  # needs a known field
    "admin:view_on_site": Rule((302, 302, 302, 302, 302, 302, 302)),  # to the event's page
    "admin/(?P<url>.*)$": Rule((302, 302, 302, 302, 302, 302, 404)),
    # Append-only records: nobody adds or deletes them, the admin included.
    "admin:accounts_auditentry_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:accounts_auditentry_delete": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:checkin_scan_delete": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:invoicing_document_delete": Rule((302, 302, 302, 302, 302, 302, 403)),
    # OAuth grants and tokens are made by their flows, integrations by a command that shows
    # the secret once: the admin reads and revokes them, it does not make them.
    "admin:accounts_oauthintegration_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_accesstoken_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_accesstoken_delete": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_grant_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_idtoken_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_refreshtoken_add": Rule((302, 302, 302, 302, 302, 302, 403)),
    "admin:oauth2_provider_refreshtoken_delete": Rule((302, 302, 302, 302, 302, 302, 403)),
    # --- ticketing ----------------------------------------------------------------------------
    "ticketing:book": post(SIGNED_IN_FORM),
    "ticketing:seats": Rule(NOBODY),  # the event has no seat map applied
    "ticketing:order": Rule(BUYER),
    "ticketing:my_tickets": Rule(SIGNED_IN),
    "ticketing:stripe_webhook": post((400, 400, 400, 400, 400, 400, 400)),  # unsigned
    "ticketing:venue_list": Rule(SIGNED_IN),  # each sees their own organizations' venues
    "ticketing:seat_map_list": Rule(ORGANIZER),
    "ticketing:seat_map_import": Rule(ORGANIZER),
    "ticketing:seat_map_edit": Rule(ORGANIZER),
    "ticketing:seat_map_add_block": post(ORGANIZER_FORM),
    "ticketing:seat_map_bulk": post(ORGANIZER_FORM),
    "ticketing:seat_map_export": Rule(ORGANIZER),
    "ticketing:seat_map_delete": post(ORGANIZER_ACTION),
    "ticketing:event_seating": Rule(ORGANIZER),
    "ticketing:event_seating_apply": post(ORGANIZER_ACTION),
    "ticketing:event_seating_block": post(ORGANIZER_FORM),
    "ticketing:ticket_refund": post(BUYER_ACTION),
    "ticketing:ticket_transfer": post(BUYER_ACTION),
    "ticketing:transfers": Rule(SIGNED_IN),
    "ticketing:transfer_accept": Rule(NOBODY),
    "ticketing:policy": Rule(ORGANIZER),
    "ticketing:manage_orders": Rule(ORGANIZER),
    # --- events -------------------------------------------------------------------------------
    "events:list": Rule(PUBLIC),
    "events:detail": Rule(ALLAUTH_FLOW),  # redirects to the URL with the slug
    "events:detail_slug": Rule(PUBLIC),
    "events:timetable": Rule(PUBLIC),
    "events:calendar": Rule(PUBLIC),
    "events:agenda_ics": Rule(PUBLIC),
    "events:feedback": post(SIGNED_IN_ACTION, rating=5),
    "events:star": post(SIGNED_IN_ACTION),
    "events:my_agenda": Rule(SIGNED_IN),
    "events:my_agenda_ics": Rule(SIGNED_IN),
    # Whoever holds the secret feed link reads it (calendar apps cannot sign in).
    "events:agenda_feed": Rule(PUBLIC, params={"token": "agenda_feed_token"}),
    "events:manage_list": Rule(ORGANIZER_LISTS),
    "events:manage_create": Rule(ORGANIZER_LISTS),
    "events:manage_edit": Rule(ORGANIZER),
    "events:manage_publish": post(ORGANIZER_ACTION),
    "events:manage_cancel": post(ORGANIZER_ACTION),
    "events:manage_delete": post(ORGANIZER_ACTION),
    "events:manage_sessions": Rule(ORGANIZER),
    "events:manage_feedback": Rule(ORGANIZER),
    "events:manage_feedback_action": post(ORGANIZER_ACTION, action="hide"),
    "events:manage_questions": Rule(ORGANIZER),
    # --- check-in -----------------------------------------------------------------------------
    "checkin:door_events": Rule(SIGNED_IN),
    "checkin:service_worker": Rule(PUBLIC),
    "checkin:manifest": Rule(PUBLIC),
    "checkin:scanner": Rule(ORGANIZER),
    "checkin:scan": post(ORGANIZER_JSON),
    "checkin:admit_guest": post(ORGANIZER_ACTION, ticket="{ticket_id}"),
    "checkin:sync": post(ORGANIZER_JSON),
    "checkin:bundle": Rule(ORGANIZER),
    "checkin:stats": Rule(ORGANIZER),
    # A door device link is its own credential, like a key card.
    "checkin:link_scanner": Rule(PUBLIC, params={"token": "door_link_token"}),
    "checkin:link_scan": post((400,) * 7, params={"token": "door_link_token"}),
    "checkin:link_sync": post((400,) * 7, params={"token": "door_link_token"}),
    "checkin:link_bundle": Rule(PUBLIC, params={"token": "door_link_token"}),
    "checkin:link_stats": Rule(PUBLIC, params={"token": "door_link_token"}),
    "checkin:manage": Rule(ORGANIZER),
    "checkin:manage_list_create": post(ORGANIZER_FORM),
    "checkin:manage_list_update": post(ORGANIZER_ACTION),
    "checkin:manage_link_create": post(ORGANIZER_FORM),
    "checkin:manage_link_revoke": post(ORGANIZER_ACTION),
    "checkin:manage_key_rotate": post(ORGANIZER_ACTION),
    "checkin:manage_key_revoke": post(ORGANIZER_ACTION),
    "checkin:attendance": Rule(ORGANIZER),
    "checkin:attendance_json": Rule(ORGANIZER),
    # --- analytics ----------------------------------------------------------------------------
    "analytics:home": Rule((302, 404, 404, 200, 200, 200, 302)),
    "analytics:event_dashboard": Rule(ORGANIZER),
    "analytics:event_live": Rule(ORGANIZER),
    "analytics:attendees": Rule(ORGANIZER),
    "analytics:order": Rule(ORGANIZER),
    "analytics:attendees_bulk": post(ORGANIZER_ACTION),
    # --- waitlist -----------------------------------------------------------------------------
    "waitlist:event": Rule(SIGNED_IN),
    "waitlist:offer": Rule((302, 404, 404, 404, 404, 404, 404)),
    "waitlist:manage": Rule(ORGANIZER),
    "waitlist:offer_next": post(ORGANIZER_ACTION),
    # --- notifications ------------------------------------------------------------------------
    "notifications:centre": Rule(SIGNED_IN),
    "notifications:read_all": post(SIGNED_IN_ACTION),
    "notifications:open": post(BUYER_ACTION),
    "notifications:preferences": Rule(SIGNED_IN),
    "notifications:unsubscribe": Rule(PUBLIC, params={"token": "unsubscribe_token"}),
    "notifications:ticket_qr": Rule(PUBLIC, params={"token": "ticket_qr_token"}),
    "notifications:webhooks": Rule(ORGANIZER_LISTS),
    "notifications:webhook": Rule(ORGANIZER),
    "notifications:webhook_action": post(ORGANIZER_ACTION),
    "notifications:event_reminders": Rule(ORGANIZER),
    # --- waiting room, vouchers, invoicing ----------------------------------------------------
    "waitingroom:room": Rule(NOBODY),  # the event has no waiting room
    "waitingroom:status": Rule(NOBODY),
    "waitingroom:manage": Rule(ORGANIZER),
    "waitingroom:stats": Rule((302, 404, 404, 404, 404, 404, 404)),
    "vouchers:manage": Rule(ORGANIZER),
    "vouchers:export": Rule(ORGANIZER),
    "invoicing:receipt": Rule(BUYER),
    "invoicing:document": Rule((302, 404, 404, 404, 404, 404, 404)),  # none issued
    "invoicing:settings": Rule(ORGANIZER),
}


def api(statuses: tuple[int, int, int, int, int, int, int]) -> Rule:
    return Rule(statuses)


def with_bodies(table: dict[str, Rule]) -> dict[str, Rule]:
    return {key: replace(rule, body=API_BODIES.get(key)) for key, rule in table.items()}


API_TABLE: dict[str, Rule] = {
    "POST /api/v1/auth/signup": api((201, 201, 201, 201, 201, 201, 201)),
    "POST /api/v1/auth/token": api((401, 401, 401, 401, 401, 401, 401)),  # wrong password
    "GET /api/v1/events": api(PUBLIC),
    "POST /api/v1/events": api((401, 403, 403, 201, 403, 201, 403)),  # into organization A
    "GET /api/v1/search": api(PUBLIC),
    "GET /api/v1/events/{event_id}/sessions": api(PUBLIC),
    "POST /api/v1/sessions/{session_id}/star": api(API_SIGNED_IN),
    "DELETE /api/v1/sessions/{session_id}/star": api(API_SIGNED_IN),
    # Feedback only from people who hold a ticket of the event.
    "PUT /api/v1/events/{event_id}/feedback": api((401, 200, 403, 403, 403, 403, 403)),
    "GET /api/v1/events/{event_id}": api(PUBLIC),  # published: anyone may read it
    "PATCH /api/v1/events/{event_id}": api(API_ORGANIZER),
    "DELETE /api/v1/events/{event_id}": api((401, 404, 404, 409, 404, 409, 404)),  # sold tickets
    "GET /api/v1/events/{event_id}/tickets": api(PUBLIC),
    "POST /api/v1/events/{event_id}/publish": api((401, 404, 404, 409, 404, 409, 404)),
    "POST /api/v1/events/{event_id}/register": api((401, 201, 201, 201, 201, 201, 201)),
    "POST /api/v1/orders/{order_id}/pay": api(API_BUYER),  # paid already: the same answer again
    "GET /api/v1/orders/{order_id}": api(API_BUYER),
    "POST /api/v1/orders/{order_id}/refund": api(API_BUYER),
    "PUT /api/v1/orders/{order_id}/answers": api(API_BUYER),
    "POST /api/v1/tickets/{ticket_id}/transfer": api((401, 201, 404, 404, 404, 404, 404)),
    "POST /api/v1/transfers/{token}/accept": api(API_NOBODY),
    "GET /api/v1/events/{event_id}/seats": api(PUBLIC),
    "POST /api/v1/checkin/scan": api(API_ORGANIZER),
    "GET /api/v1/checkin/lists/{list_id}/bundle": api(API_ORGANIZER),
    "POST /api/v1/checkin/sync": api(API_ORGANIZER),
    "GET /api/v1/notifications": api(API_SIGNED_IN),  # each their own
    "POST /api/v1/notifications/{notification_id}/read": api(API_BUYER),
    "GET /api/v1/notifications/preferences": api(API_SIGNED_IN),
    "PUT /api/v1/notifications/preferences": api(API_SIGNED_IN),
    "GET /api/v1/webhooks": api(API_SIGNED_IN),  # each their organizations' endpoints
    "POST /api/v1/webhooks": api((401, 404, 404, 201, 404, 201, 404)),
    "POST /api/v1/webhooks/{endpoint_id}/test": api((401, 404, 404, 202, 404, 202, 404)),
    "DELETE /api/v1/webhooks/{endpoint_id}": api((401, 404, 404, 204, 404, 204, 404)),
    "GET /api/v1/webhooks/{endpoint_id}/deliveries": api(API_ORGANIZER),
    # Anyone may wait for the sold-out tier; the attendee's second join returns their place.
    "POST /api/v1/events/{event_id}/waitlist": api((401, 201, 201, 201, 201, 201, 201)),
    "GET /api/v1/events/{event_id}/waitlist": api(API_SIGNED_IN),  # their own places
    "DELETE /api/v1/waitlist/{entry_id}": api((401, 204, 404, 404, 404, 404, 404)),
    "POST /api/v1/waitlist/offers/{token}/accept": api(API_NOBODY),
    "GET /api/v1/organizer/events": api(API_SIGNED_IN),  # each their own events
    "GET /api/v1/events/{event_id}/orders": api(API_ORGANIZER),
    "GET /api/v1/events/{event_id}/attendees": api(API_ORGANIZER),
    "GET /api/v1/events/{event_id}/attendees.csv": api(API_ORGANIZER),
    "GET /api/v1/events/{event_id}/stats": api(API_ORGANIZER),
    "GET /api/v1/organizer/stats": api(API_SIGNED_IN),
    "GET /api/v1/auth/tokens": api(API_SIGNED_IN),  # each their own tokens
    "DELETE /api/v1/auth/tokens/{token_id}": api(API_NOBODY),
}


# Bodies for the API's writes: valid enough that the request reaches the authorization check.
# "{name}" is replaced with the world's value.
IDEMPOTENT = {"idempotency_key": "matrix-0001"}
API_BODIES: dict[str, Any] = {
    "POST /api/v1/auth/signup": {"email": "new-person@example.com", "password": "long-enough-pw-1"},
    "POST /api/v1/auth/token": {"email": "nobody@example.com", "password": "wrong-password-1"},
    "POST /api/v1/events": {
        "organization_id": "{organization_id}",
        "title": "Matrix night",
        "venue_name": "Hall",
        "city": "Berlin",
        "starts_at": "{starts_at}",
        "ends_at": "{ends_at}",
        "tiers": [{"name": "Standard", "price": "10.00", "capacity": 10}],
    },
    "PUT /api/v1/events/{event_id}/feedback": {"rating": 5},
    "PATCH /api/v1/events/{event_id}": {"title": "Renamed"},
    "DELETE /api/v1/events/{event_id}": None,
    "POST /api/v1/events/{event_id}/publish": None,
    "POST /api/v1/events/{event_id}/register": {
        "tier_id": "{tier_id}",
        "quantity": 1,
        **IDEMPOTENT,
    },
    "POST /api/v1/orders/{order_id}/pay": IDEMPOTENT,
    "POST /api/v1/orders/{order_id}/refund": IDEMPOTENT,
    "PUT /api/v1/orders/{order_id}/answers": {"tickets": []},
    "POST /api/v1/tickets/{ticket_id}/transfer": {"email": "friend@example.com"},
    "POST /api/v1/transfers/{token}/accept": None,
    "POST /api/v1/checkin/scan": {"payload": "not-a-ticket", "list_id": "{list_id}"},
    "POST /api/v1/checkin/sync": {"list_id": "{list_id}", "scans": []},
    "PUT /api/v1/notifications/preferences": {"marketing_email": False},
    "POST /api/v1/webhooks": {
        "organization_id": "{organization_id}",
        "url": "https://hooks.example.com/new",
        "topics": ["order.confirmed"],
    },
    "POST /api/v1/events/{event_id}/waitlist": {"tier_id": "{sold_out_tier_id}"},
    "POST /api/v1/waitlist/offers/{token}/accept": IDEMPOTENT,
}

API_TABLE = with_bodies(API_TABLE)
