from config.errors import DomainError


class EventNotEditable(DomainError):
    code = "EVENT_NOT_EDITABLE"
    status = 409
    message = "This event can no longer be changed that way."


class EventHasOrders(DomainError):
    code = "EVENT_HAS_ORDERS"
    status = 409
    message = "Only drafts without orders can be deleted; cancel the event instead."


class InvalidEvent(DomainError):
    code = "INVALID_EVENT"
    status = 422
    message = "The event is not valid."


class CapacityBelowSold(DomainError):
    code = "CAPACITY_BELOW_SOLD"
    status = 409
    message = "Capacity cannot go below the tickets already sold or held."
