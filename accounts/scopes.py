"""What a token may do: the scopes, and the one table of which API route needs which.

Plain constants (no models), so settings can hand the scopes to django-oauth-toolkit.
A route not named in API_ROUTE_SCOPES refuses every token: a new route must be placed here
(tests/accounts/test_scopes.py fails until it is).
"""

from django.utils.translation import gettext_lazy as _

# What third-party apps can ask for (OAuth2) and what a personal token can be limited to.
API_SCOPES = {
    "events:read": _("See the events you manage"),
    "events:write": _("Create, change, publish and delete events you manage"),
    "orders:read": _("See orders for your events"),
    "attendees:read": _("See attendee lists of your events"),
    "checkin:write": _("Check tickets in at the door"),
    "analytics:read": _("See sales figures of your events"),
}
# Acting as the account holder on the buyer's side (booking, paying, transfers, waitlist,
# notification and webhook settings). Personal tokens only: no OAuth app is ever given it.
ACCOUNT_SCOPE = "account"
PERSONAL_TOKEN_SCOPES = (*API_SCOPES, ACCOUNT_SCOPE)
# OpenID Connect identity scopes: what an app signing a person in learns about them.
IDENTITY_SCOPES = {
    "openid": _("Know who you are on Boxoffice"),
    "email": _("See your email address"),
    "profile": _("See your name"),
}

# "METHOD view_name" (as in settings.RATE_LIMITED_ROUTES) -> the scope a token needs.
API_ROUTE_SCOPES = {
    # events
    "GET api:get_event": "events:read",
    "GET api:organizer_events": "events:read",
    "POST api:list_events": "events:write",  # POST /events creates one
    "PATCH api:get_event": "events:write",
    "DELETE api:get_event": "events:write",
    "POST api:publish_event": "events:write",
    # orders and attendees
    "GET api:event_orders": "orders:read",
    "GET api:event_attendees": "attendees:read",
    "GET api:event_attendees_csv": "attendees:read",
    # door
    "POST api:scan": "checkin:write",
    "POST api:sync": "checkin:write",
    "GET api:bundle": "checkin:write",
    # figures
    "GET api:event_stats_view": "analytics:read",
    "GET api:organizer_stats_view": "analytics:read",
    # the account holder's own business
    "GET api:tokens": ACCOUNT_SCOPE,
    "DELETE api:revoke_token": ACCOUNT_SCOPE,
    "GET api:get_order": ACCOUNT_SCOPE,
    "POST api:register": ACCOUNT_SCOPE,
    "POST api:pay": ACCOUNT_SCOPE,
    "PUT api:order_answers": ACCOUNT_SCOPE,
    "POST api:refund": ACCOUNT_SCOPE,
    "POST api:transfer": ACCOUNT_SCOPE,
    "POST api:transfer_accept": ACCOUNT_SCOPE,
    "PUT api:give_feedback": ACCOUNT_SCOPE,
    "POST api:star_session": ACCOUNT_SCOPE,
    "DELETE api:star_session": ACCOUNT_SCOPE,
    "GET api:list_notifications": ACCOUNT_SCOPE,
    "POST api:read_notification": ACCOUNT_SCOPE,
    "GET api:get_preferences": ACCOUNT_SCOPE,
    "PUT api:get_preferences": ACCOUNT_SCOPE,
    "GET api:list_webhooks": ACCOUNT_SCOPE,
    "POST api:list_webhooks": ACCOUNT_SCOPE,
    "DELETE api:delete_webhook": ACCOUNT_SCOPE,
    "GET api:webhook_log": ACCOUNT_SCOPE,
    "POST api:test_webhook": ACCOUNT_SCOPE,
    "GET api:join": ACCOUNT_SCOPE,
    "POST api:join": ACCOUNT_SCOPE,
    "POST api:accept": ACCOUNT_SCOPE,
    "DELETE api:leave": ACCOUNT_SCOPE,
}
