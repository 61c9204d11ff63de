import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402 - needs Django set up first

# Every view module, imported now: under gunicorn's preload_app once, in the master, instead of
# in each new worker's first request.
get_resolver().url_patterns  # noqa: B018 - the property imports the URLconf

from checkin.fastlane import ScanFastLane  # noqa: E402 - needs Django set up first
from config.api_lane import ApiLane, ApiLaneHandler  # noqa: E402 - needs Django set up first
from ops.wsgi import FastLaneMetrics, reaching_django  # noqa: E402 - needs Django set up first
from ticketing.booking.fastlane import SoldOutFastLane  # noqa: E402 - needs Django set up first
from waitingroom.fastlane import QueueFastLane  # noqa: E402 - needs Django set up first

# A sold-out rush is answered from Redis before Django runs (see
# ticketing/booking/fastlane.py); door scans skip the request cycle for the same service (see
# checkin/fastlane.py), and the waiting page and its poll skip it too (see waitingroom/fastlane.py).
# FastLaneMetrics counts what those lanes answer, which Django's
# middleware never sees. What reaches Django, register and pay with a bearer token take with
# the middleware they use (config/api_lane.py).
django_both = ApiLane(django_application, ApiLaneHandler())
application = FastLaneMetrics(
    QueueFastLane(ScanFastLane(SoldOutFastLane(reaching_django(django_both))))
)
