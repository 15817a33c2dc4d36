"""``forecourt demo``: a believable network to click through, built in seconds.

One carmaker (Aurora Motors), dealers in Germany's largest towns, partners of every kind, and
thousands of drivers with cars, owners over time, workshop visits and consents. Volume goes in
through bulk inserts that write the same rows the services would; the same builder makes the
100,000-customer database the benchmark measures.
"""

from __future__ import annotations

import time
from datetime import timedelta
from dataclasses import dataclass, field
from random import Random

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.models import AccessLogEntry, ConsentReceipt, Grant
from forecourt.core import auth
from forecourt.core.clock import now
from forecourt.core.config import Settings
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.core.errors import Conflict
from forecourt.demo import (bulk, driver, driving, engagement, finance, geography, korea, korea_people, local_help,
                            nps, on_call, options, orders, organizations, population, recalls, sales, sharing,
                            warranty, workshop, workshop_loaners)
from forecourt.demo import commands as remote_commands
from forecourt.demo.consents import ConsentBook
from forecourt.demo.fleet import build_catalogue
from forecourt.parties.models import Organization, User
from forecourt.sales import rollup
from forecourt.sales.stages import ensure_default_stages

BULK_TABLES = [population.CUSTOMERS, population.USERS, population.PREFERENCES, population.VEHICLES,
               population.OWNERSHIPS, population.SERVICE_RECORDS, Grant.__table__, ConsentReceipt.__table__,
               AccessLogEntry.__table__]
_WITH_IDS = [t for t in BULK_TABLES if "id" in t.c]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    who: str


@dataclass
class DemoNetwork:
    """What was built (or found): the logins to try and how many rows of each kind exist."""

    created: bool
    logins: list[DemoLogin] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def demo_logins() -> list[DemoLogin]:
    """Stable for every seed and size, so documentation can list them."""
    dealer_slug = organizations.first_dealer_slug()
    dealer_name = f"Autohaus {dealer_slug.split('-')[0].capitalize()} {geography.largest_cities(1)[0].name}"
    _, _, insurer, insurer_slug, _ = next(p for p in organizations.PARTNERS if p[0] == "insurance")
    _, _, lender, lender_slug, _ = next(p for p in organizations.PARTNERS if p[0] == "finance")
    domain, carmaker = organizations.CARMAKER["domain"], organizations.CARMAKER["name"]
    return [
        DemoLogin(f"admin@{domain}", "carmaker admin", carmaker),
        DemoLogin(f"agent@{domain}", "call-centre agent", carmaker),
        DemoLogin(f"sales@{dealer_slug}.example", "dealer sales", dealer_name),
        DemoLogin(f"service@{dealer_slug}.example", "dealer service", dealer_name),
        DemoLogin(f"cashier@{dealer_slug}.example", "dealer cashier", dealer_name),
        DemoLogin(f"insurer@{insurer_slug}.example", "insurance analyst", insurer),
        DemoLogin(f"finance@{lender_slug}.example", "finance analyst", lender),
        DemoLogin(driver.EMAIL, "customer", "Lena Hoffmann (driver)"),
        *(DemoLogin(k.email, k.role, k.who) for k in korea.logins()),
    ]


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _login_table(logins: list[DemoLogin], password: str) -> Table:
    table = Table(title=f"Demo logins — password for all: {password}", title_justify="left")
    width = max((len(login.email) for login in logins), default=10)
    table.add_column("E-mail", no_wrap=True, min_width=width)
    table.add_column("Role", no_wrap=True)
    table.add_column("Who")
    for login in logins:
        table.add_row(login.email, login.role, login.who)
    return table


def _has_data(session: Session) -> bool:
    return session.scalar(select(Organization.id).limit(1)) is not None


def korean_share(customers: int) -> int:
    """Customers of the Korean market beside ``customers`` German ones: a tenth, at least 12, at most 2,000."""
    return min(2000, max(12, customers // 10))


def build_demo_network(*, settings: Settings, customers: int = 2000, dealers: int = 45, seed: int = 7,
                       if_empty: bool = False, console: Console | None = None) -> DemoNetwork:
    """Builds the network in one transaction: a failure leaves the database as it was.

    ``customers`` and ``dealers`` size the German market; the Korean market beside it has its three
    dealers and ``korean_share(customers)`` customers."""
    console = console or Console()
    engine = get_engine(settings.database_url, settings.db_echo)
    factory = make_sessionmaker(engine)
    with factory() as session:
        if _has_data(session):
            if not if_empty:
                raise Conflict("The database already has organizations; the demo network needs an empty one. "
                               "Remove the database file (or point FORECOURT_DATABASE_URL at a new database) "
                               "and run 'forecourt demo' again, or use --if-empty to keep what is there.")
            known = set(session.scalars(select(User.email).where(User.email.in_(
                [login.email for login in demo_logins()]))))
            logins = [login for login in demo_logins() if login.email in known]
            console.print("[yellow]The database already has data; the demo network was left as it is.[/yellow]")
            if logins:
                console.print(_login_table(logins, settings.demo_password))
            return DemoNetwork(created=False, logins=logins)

    started = time.perf_counter()
    customers, dealers = max(1, customers), max(1, dealers)
    rng = Random(seed)
    moment = now()
    with _progress(console) as progress, transaction(factory) as session:
        step = progress.add_task("Catalogue and password", total=2)
        password_hash = auth.hash_password(settings.demo_password)  # once: argon2 is slow on purpose
        progress.advance(step)
        trims = build_catalogue(session=session)
        progress.advance(step)

        ids = bulk.Ids(session, _WITH_IDS)
        step = progress.add_task("Carmaker and partners", total=1)
        staff, partners = organizations.build_carmaker_and_partners(
            session=session, ids=ids, rng=rng, now=moment, password_hash=password_hash)
        progress.advance(step)

        step = progress.add_task(f"Dealers in {min(dealers, len(geography.largest_cities(dealers)))} towns",
                                 total=1)
        dealer_refs = organizations.build_dealers(session=session, ids=ids, rng=rng, now=moment,
                                                  password_hash=password_hash, count=dealers)
        towns = geography.home_towns(sorted({d.city for d in dealer_refs}, key=lambda c: (-c.population, c.name)))
        # its own random stream, so the people and cars of a seed stay what they were
        helpers = local_help.build(session=session, ids=ids, rng=Random(seed + 1), towns=towns, market="DE",
                                   password_hash=password_hash, since=moment - timedelta(days=700))
        progress.advance(step)

        rows = bulk.Rows(BULK_TABLES)
        world = population.World(
            rng=rng, now=moment, password_hash=password_hash, carmaker_id=staff.carmaker_id,
            admin_user_id=staff.admin_user_id, agent_user_id=staff.agent_user_id, dealers=dealer_refs,
            partners=partners, trims=trims, towns=towns,
            nearest=organizations.nearest_dealers(dealer_refs, towns), ids=ids, rows=rows,
            consents=ConsentBook.load(session=session, rng=rng, ids=ids, rows=rows, now=moment))
        step = progress.add_task("Customers, cars and consents", total=customers)
        neighbours = population.populate(session=session, world=world, count=customers - 1,
                                         on_progress=lambda n: progress.advance(step, n))
        driver.build_driver(world, dealer=dealer_refs[0], neighbours=neighbours)
        rows.flush(session)
        progress.advance(step, 1)

        step = progress.add_task("The Korean market", total=1)
        korean_dealers, korean_partners = korea.build_organizations(session=session, ids=ids, rng=rng, now=moment,
                                                                    password_hash=password_hash)
        helpers += local_help.build(session=session, ids=ids, rng=Random(seed + 2), towns=korea_people.towns(),
                                    market="KR", password_hash=password_hash, since=moment - timedelta(days=700))
        korean_world = korea.world_for(world, dealers=korean_dealers, partners=korean_partners)
        population.populate(session=session, world=korean_world, count=korean_share(customers) - 1)
        korea.build_driver(korean_world, dealer=korean_dealers[0])
        rows.flush(session)
        progress.advance(step)

        step = progress.add_task("Sequences and planner statistics", total=1)
        bulk.realign_sequences(session, _WITH_IDS)
        session.flush()
        progress.advance(step)

        step = progress.add_task("Options, leads, the pipeline, orders, warranty, recalls and the workshop",
                                 total=1)
        ensure_default_stages(session=session)
        options.build_options(session=session)
        korea.price_catalogue(session)
        counts_of_sales = sales.build_pipeline(session=session, rng=rng, now=moment)
        for lifecycle in (warranty, recalls, workshop, workshop_loaners, on_call, orders, sharing):
            counts_of_sales |= lifecycle.build(session=session, rng=rng, now=moment)
        counts_of_sales |= korea.finish(session=session, rng=rng, now=moment, dealers=korean_dealers)
        counts_of_sales |= driving.build(session=session, rng=rng, now=moment)
        recalls.after_the_drivers_trips(session=session, now=moment)
        counts_of_sales |= nps.build(session=session, rng=Random(seed + 3), now=moment)  # after visits and deliveries
        counts_of_sales |= remote_commands.build(session=session, rng=rng, now=moment)
        counts_of_sales |= finance.build(session=session, rng=Random(seed + 4), now=moment)  # before engagement
        counts_of_sales |= engagement.build(session=session, rng=rng, now=moment)
        session.flush()
        # the deals were written in bulk (and Korea's repriced in won): the pipeline's rollup is counted once
        rollup.rebuild(session=session)
        progress.advance(step)

        step = progress.add_task("Planner statistics", total=1)
        bulk.refresh_statistics(session)
        progress.advance(step)
    bulk.compact_log(engine)

    counts = {"organizations": helpers + 1 + dealers + sum(len(p) for p in partners.values())
              + 1 + len(korean_dealers) + sum(len(p) for p in korean_partners.values()), "dealers": dealers,
              **{name: count for name, count in rows.written.items()}, **counts_of_sales}
    result = DemoNetwork(created=True, logins=demo_logins(), counts=counts,
                         seconds=round(time.perf_counter() - started, 1))
    console.print(f"[green]Demo network ready[/green] in {result.seconds} s: {dealers} dealers, "
                  f"{counts.get('customers', 0):,} customers, {counts.get('vehicles', 0):,} cars, "
                  f"{counts.get('service_records', 0):,} workshop visits, "
                  f"{counts.get('consent_grants', 0):,} consents.")
    console.print(_login_table(result.logins, settings.demo_password))
    return result
