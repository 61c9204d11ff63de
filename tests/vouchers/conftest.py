from tests.api.conftest import as_attendee  # noqa: F401  # the API as a signed-in buyer
