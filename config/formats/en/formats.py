"""English dates as the rest of the site writes them: day before month, a 24-hour clock.

Django's own English formats are American ("Dec. 20, 2026, 6 p.m."); the pages' own formats
("D j M Y, H:i") and the German ones are not, so a checkout read differently from the event
page it came from.
"""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "D j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
