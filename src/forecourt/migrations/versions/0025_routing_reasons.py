"""a lead's routing reason is kept as facts, said in each reader's language

* ``sales_leads.routing_facts`` (JSON): why the lead went to its dealer, as ``sales.routing_reasons``
  keeps it (``{"code": "nearest", "dealer": ..., "km": ..., "per_rep": ...}``), replacing
  ``sales_leads.routing_reason``, the sentence written in the language of that moment.
* Existing sentences written in English are read back into facts; any other text is kept as written
  (``{"code": "recorded", "text": ...}``). Downgrading writes the English sentence again.

Revision ID: 0025_routing_reasons
Revises: 0024_recalls
Create Date: 2026-12-07 01:45:00
"""
from __future__ import annotations

import json
import re

from alembic import op
import sqlalchemy as sa


revision = '0025_routing_reasons'
down_revision = '0026_sharing'
branch_labels = None
depends_on = None

_LEADS = sa.table('sales_leads', sa.column('id', sa.Integer), sa.column('routing_reason', sa.Text),
                  sa.column('routing_facts', sa.JSON))
_NUMBER = r"[\d,.]+"
_CHOSEN = re.compile(r"^Chosen by the customer(?:: (?P<dealer>.+?))?\.?$", re.S)
_NEAREST = re.compile(rf"^Nearest dealer with capacity: (?P<dealer>.+?), (?P<km>{_NUMBER}) km away, (?P<load>.+?)"
                      rf"(?: \(the nearest, (?P<closest>.+?) at (?P<closest_km>{_NUMBER}) km, has "
                      rf"(?P<closest_load>.+?)\))?\.$", re.S)
_NEAREST_KM = re.compile(rf"^Nearest dealer with capacity \((?P<km>{_NUMBER}) km\)\.?$")
_LOAD = re.compile(rf"^(?P<value>{_NUMBER}) open leads? per sales rep$")
_UNREAD = object()


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _load(text: str):
    if text == "no sales rep yet":
        return None
    found = _LOAD.match(text)
    return _number(found["value"]) if found else _UNREAD


def facts_of(text: str | None) -> dict:
    """The facts an English sentence of ``sales.routing`` said; other text is kept as it was written."""
    text = (text or "").strip()
    if not text:
        return {}
    if found := _CHOSEN.match(text):
        return {"code": "customer_choice", "dealer": found["dealer"]}
    if found := _NEAREST_KM.match(text):
        return {"code": "nearest", "km": _number(found["km"])}
    if found := _NEAREST.match(text):
        load = _load(found["load"])
        if load is not _UNREAD:
            facts = {"code": "nearest", "dealer": found["dealer"], "km": _number(found["km"]), "per_rep": load}
            if not found["closest"]:
                return facts
            closest_load = _load(found["closest_load"])
            if closest_load is not _UNREAD:
                return facts | {"closest": found["closest"], "closest_km": _number(found["closest_km"]),
                                "closest_per_rep": closest_load}
    return {"code": "recorded", "text": text}


def _english_load(value) -> str:
    if value is None:
        return "no sales rep yet"
    return f"{value:g} open lead per sales rep" if value == 1 else f"{value:g} open leads per sales rep"


def sentence_of(facts: dict | None) -> str:
    """The English sentence again, for a downgrade."""
    facts = facts or {}
    if facts.get("code") == "customer_choice":
        return f"Chosen by the customer: {facts['dealer']}." if facts.get("dealer") else "Chosen by the customer."
    if facts.get("code") == "nearest":
        km = f"{facts.get('km') or 0:,.0f}"
        if not facts.get("dealer"):
            return f"Nearest dealer with capacity ({km} km)"
        text = f"Nearest dealer with capacity: {facts['dealer']}, {km} km away, {_english_load(facts.get('per_rep'))}"
        if facts.get("closest"):
            text += (f" (the nearest, {facts['closest']} at {facts.get('closest_km') or 0:,.0f} km, has "
                     f"{_english_load(facts.get('closest_per_rep'))})")
        return text + "."
    return str(facts.get("text") or "")


def _rewrite(connection, read, write) -> None:
    """Row by row in pages of 1,000, so a large table is never held in memory at once."""
    last = 0
    while True:
        rows = connection.execute(sa.select(_LEADS.c.id, read).where(_LEADS.c.id > last)
                                  .order_by(_LEADS.c.id).limit(1000)).all()
        if not rows:
            return
        for lead_id, value in rows:
            connection.execute(_LEADS.update().where(_LEADS.c.id == lead_id).values(**write(value)))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing_facts', sa.JSON(), nullable=True))
    _rewrite(op.get_bind(), _LEADS.c.routing_reason, lambda text: {"routing_facts": facts_of(text)})
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.alter_column('routing_facts', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('routing_reason')


def downgrade() -> None:
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing_reason', sa.Text(), nullable=False, server_default=''))
    _rewrite(op.get_bind(), _LEADS.c.routing_facts,
             lambda facts: {"routing_reason": sentence_of(facts if isinstance(facts, dict)
                                                          else json.loads(facts or "{}"))})
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.drop_column('routing_facts')
