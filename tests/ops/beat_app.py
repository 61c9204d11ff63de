"""A Celery app for the beat-lock test: one job every half second, the real LockedScheduler."""

import os

from celery import Celery

app = Celery("beat-lock-test", broker=os.environ["CELERY_BROKER_URL"])
app.conf.beat_schedule = {"tick": {"task": "beat_lock_test.tick", "schedule": 0.5}}
app.conf.beat_max_loop_interval = 0.5
