from django.urls import path

from ticketing import views
from ticketing.urls_aftersale import urlpatterns as aftersale_urlpatterns

app_name = "ticketing"
urlpatterns = [
    path("events/<uuid:event_id>/book", views.book, name="book"),
    path("orders/<uuid:order_id>/", views.order_detail, name="order"),
    path("tickets/", views.my_tickets, name="my_tickets"),
    path("payments/stripe/webhook", views.stripe_webhook, name="stripe_webhook"),
]
urlpatterns += aftersale_urlpatterns  # refunds, transfers, policy (issue 6)
