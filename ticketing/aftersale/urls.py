from django.urls import path

from ticketing.aftersale import views

# Appended to ticketing.urls, so these names live in the "ticketing" namespace too.
urlpatterns = [
    path("tickets/<uuid:ticket_id>/refund", views.ticket_refund, name="ticket_refund"),
    path("tickets/<uuid:ticket_id>/transfer", views.ticket_transfer, name="ticket_transfer"),
    path("tickets/transfers/", views.transfer_list, name="transfers"),
    path("transfers/<str:token>", views.transfer_accept, name="transfer_accept"),
    path("manage/events/<uuid:event_id>/policy", views.manage_policy, name="policy"),
    path("manage/events/<uuid:event_id>/orders", views.manage_orders, name="manage_orders"),
]
