"""Attendee exports of the current filtered view, streamed so 50,000 rows never sit in memory."""

import csv
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

from analytics.attendees import EXPORT_COLUMNS, attendee_row
from events.models import Event
from ticketing.models import Ticket

CHUNK = 2000


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Spreadsheets run cells starting with these as formulas: an attendee named
        # "=HYPERLINK(...)" must stay text (CSV injection).
        return "'" + value
    return value


def _rows(tickets: QuerySet[Ticket], questions: list[tuple[str, str]]) -> Iterator[list[Any]]:
    for ticket in tickets.iterator(chunk_size=CHUNK):
        row = attendee_row(ticket)
        answers = getattr(ticket, "answer_map", {}) or {}
        yield [_cell(row[key]) for key, _ in EXPORT_COLUMNS] + [
            _cell(answers.get(qid, "")) for qid, _ in questions
        ]


def _filename(event: Event, extension: str) -> str:
    return f"attendees-{slugify(event.title)[:40] or 'event'}.{extension}"


def attendees_csv(
    event: Event, tickets: QuerySet[Ticket], questions: list[tuple[str, str]] | None = None
) -> StreamingHttpResponse:
    questions = questions or []
    writer = csv.writer(_Echo())
    header = [label for _, label in EXPORT_COLUMNS] + [label for _, label in questions]

    def lines() -> Iterator[str]:
        yield "\ufeff"  # lets Excel read the file as UTF-8
        yield writer.writerow(header)
        for row in _rows(tickets, questions):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(event, "csv")}"'
    return response


def attendees_xlsx(
    event: Event, tickets: QuerySet[Ticket], questions: list[tuple[str, str]] | None = None
) -> FileResponse:
    """An .xlsx is a zip that cannot be sent before it is finished: xlsxwriter writes it row by
    row to a temporary file (constant memory), which is then streamed and removed."""
    import xlsxwriter

    questions = questions or []
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "remove_timezone": True})
    sheet = book.add_worksheet("Attendees")
    bold = book.add_format({"bold": True})
    header = [label for _, label in EXPORT_COLUMNS] + [label for _, label in questions]
    sheet.write_row(0, 0, header, bold)
    for number, row in enumerate(_rows(tickets, questions), start=1):
        sheet.write_row(number, 0, row)
    book.close()
    stream = open(path, "rb")  # noqa: SIM115  # FileResponse closes it
    os.unlink(path)  # the open handle keeps the data until the response is sent
    return FileResponse(
        stream,
        as_attachment=True,
        filename=_filename(event, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
