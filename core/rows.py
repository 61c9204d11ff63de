"""Hot single-row lookups as plain SQL, built once from model metadata, read into model instances.

The ORM compiles a select anew on every call: about 10 µs of CPU a column, so a row read with
three related rows (`select_related`) costs ~1 ms before PostgreSQL sees it, on lookups that
every organizer page or every payment makes. `RowSelect` writes the same SELECT once per
process and hands back the same instances (every concrete field, each field's database
converters applied, the related rows cached as `select_related` caches them). Conditions stay
SQL with parameters; column names come quoted from the metadata.
"""

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Field, Model

from core.db import prepared_cursor

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


def _column(field: Any) -> str:
    return str(field.column)


class _Part:
    """One model's columns in the SELECT: where they start, their names and converters."""

    def __init__(self, model: type[Model], alias: str, start: int, connection: Any) -> None:
        self.model = model
        self.alias = alias
        self.fields: list[Field[Any, Any]] = list(model._meta.concrete_fields)
        self.start = start
        self.end = start + len(self.fields)
        self.attnames = [field.attname for field in self.fields]
        # A LEFT JOIN that found nothing leaves the primary key empty.
        self.pk_index = start + self.attnames.index(str(model._meta.pk.attname))
        self.converters: list[tuple[int, list[Converter], Any]] = []
        for index, field in enumerate(self.fields):
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self.converters.append((index, found, column))

    def build(self, db: str, connection: Any, row: Sequence[Any]) -> Model:
        values = list(row[self.start : self.end])
        for index, converters, column in self.converters:
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(db, self.attnames, values)


class RowSelect(Generic[M]):
    """`model`'s rows with the rows its foreign keys `related` point to, like
    `model.objects.select_related(*related)`: `column()` names columns for a condition, `one()`
    reads the first row that meets it."""

    def __init__(self, model: type[M], related: Sequence[str] = (), *, using: str = "default"):
        self.model = model
        self.related = tuple(related)
        self.using = using

    @cached_property
    def _plan(self) -> tuple[str, _Part, list[tuple[Any, _Part]]]:
        connection = connections[self.using]
        quote = connection.ops.quote_name
        meta = self.model._meta
        base = _Part(self.model, "t", 0, connection)
        tables = [f"{quote(meta.db_table)} t"]
        parts: list[tuple[Any, _Part]] = []  # (the foreign key, its row's columns)
        end = base.end
        for number, name in enumerate(self.related):
            field = meta.get_field(name)
            target = field.related_model
            if not (isinstance(target, type) and issubclass(target, Model)):
                raise TypeError(f"{name} is not a foreign key of {meta.label}")
            part = _Part(target, f"r{number}", end, connection)
            end = part.end
            join = "LEFT JOIN" if field.null else "JOIN"
            key = quote(_column(target._meta.pk))
            tables.append(
                f"{join} {quote(target._meta.db_table)} {part.alias}"
                f" ON {part.alias}.{key} = t.{quote(_column(field))}"
            )
            parts.append((field, part))
        columns = ", ".join(
            f"{part.alias}.{quote(_column(field))}"
            for part in [base] + [part for _field, part in parts]
            for field in part.fields
        )
        return f"SELECT {columns} FROM {' '.join(tables)}", base, parts  # noqa: S608 - names from metadata, quoted

    def column(self, name: str) -> str:
        """The quoted column of `name` (a field of the model) for a condition in `one()`."""
        found = self._columns.get(name)
        if found is None:
            field = self.model._meta.get_field(name)
            found = self._columns[name] = (
                f"t.{connections[self.using].ops.quote_name(_column(field))}"
            )
        return found

    @cached_property
    def _columns(self) -> dict[str, str]:
        return {}

    def one(self, where: str, params: Sequence[Any]) -> M | None:
        """The first row meeting `where` (SQL over `column()` names, `%s` for `params`)."""
        select, base, parts = self._plan
        connection = connections[self.using]
        with prepared_cursor(self.using) as cursor:
            cursor.execute(f"{select} WHERE {where} LIMIT 1", list(params))
            row = cursor.fetchone()
        if row is None:
            return None
        instance = base.build(self.using, connection, row)
        for field, part in parts:
            related = (
                None if row[part.pk_index] is None else part.build(self.using, connection, row)
            )
            field.set_cached_value(instance, related)
        return instance  # type: ignore[return-value]
