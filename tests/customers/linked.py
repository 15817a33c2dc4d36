"""Every row that points at one customer, read straight from the tables (for export and erasure checks).

Walks ``Base.metadata`` so a table added later is covered without anyone remembering to add it here.
"""

from __future__ import annotations

from sqlalchemy import Table, select

from forecourt.core.db import Base
from forecourt.models import load_all


def tables_referencing_customers() -> dict[str, list[str]]:
    """{table name: [columns with a foreign key to customers.id]} for every table that has one."""
    load_all()
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            for key in column.foreign_keys:
                if key.column.table.name == "customers" and key.column.name == "id":
                    found.setdefault(table.name, []).append(column.name)
    return found


def _plain(value):
    return value if isinstance(value, int | str | type(None) | bool) else repr(value)


def rows_linked_to(session, customer_id: int) -> dict[str, list[tuple]]:
    """The customer row, every row of every table that references it, and the cars they own(ed)."""
    load_all()
    tables = Base.metadata.tables
    snapshot: dict[str, list[tuple]] = {}

    def read(table: Table, condition) -> list[tuple]:
        rows = session.execute(select(table).where(condition)).mappings().all()
        return sorted(tuple((k, _plain(v)) for k, v in sorted(row.items())) for row in rows)

    snapshot["customers"] = read(tables["customers"], tables["customers"].c.id == customer_id)
    for name, columns in tables_referencing_customers().items():
        table = tables[name]
        for column in columns:
            snapshot[f"{name}.{column}"] = read(table, table.c[column] == customer_id)
    ownerships = tables["ownerships"]
    vehicles = tables["vehicles"]
    snapshot["vehicles (owned)"] = read(vehicles, vehicles.c.id.in_(
        select(ownerships.c.vehicle_id).where(ownerships.c.customer_id == customer_id)))
    return snapshot
