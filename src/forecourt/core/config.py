"""One settings object for the whole process, read from the environment (prefix ``FORECOURT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECOURT_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/forecourt.db",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL in production.",
    )
    secret_key: str = Field(
        default="change-me-in-production-forecourt-dev-key",
        description="Signs session cookies. Set a long random value in production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Reverse proxies whose X-Forwarded-For is trusted, so login limits count real clients.",
    )
    cookie_secure: bool = Field(default=False, description="Send cookies only over HTTPS.")
    session_hours: int = 12
    api_token_days: int = 30
    login_max_failures: int = Field(default=5, description="Failed logins per e-mail or address per window.")
    login_window_seconds: int = 900
    position_retention_days: int = Field(default=90, ge=1, description="Raw positions older than this are deleted.")
    order_deposit_percent: float = Field(default=10, ge=0, le=100,
                                         description="Deposit on an online order, in percent of its price.")
    order_deposit_minimum: int = Field(default=500, ge=0, description="The smallest deposit, in euros.")
    smtp_host: str = Field(default="127.0.0.1", description="Mail server the outbox sender hands e-mails to.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    mail_from: str = Field(default="Forecourt <no-reply@forecourt.example>",
                           description="Sender of e-mails to owners (recall notices, service proposals).")
    portal_url: str = Field(default="http://127.0.0.1:8000", description="Links in e-mails point here.")
    # --- background work (forecourt worker) ---
    jobs_url: str = Field(default="", description="Where the job queue lives: empty for the default (a SQLite "
                          "file beside a SQLite database, the database itself on PostgreSQL), sqlite:///PATH, "
                          "or postgresql+psycopg://...")
    worker_threads: int = Field(default=2, ge=1, le=32, description="Jobs the worker runs side by side.")
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=60,
                                       description="How often the worker looks for due events and e-mails.")
    heartbeat_seconds: float = Field(default=10.0, gt=0, description="How often the worker and ingest say they live.")
    event_max_attempts: int = Field(default=8, ge=1, description="Tries of a domain event before it is dead.")
    event_retry_seconds: float = Field(default=10.0, ge=0,
                                       description="Wait after a failed delivery; doubled after each failure.")
    event_keep_days: int = Field(default=30, ge=1, description="Delivered events are deleted after this.")
    outbox_max_attempts: int = Field(default=10, ge=1, description="Tries of an e-mail before it is dead.")
    outbox_retry_seconds: float = Field(default=60.0, ge=0,
                                        description="Wait after a failed send; doubled after each failure.")
    outbox_lease_seconds: float = Field(default=120.0, gt=0,
                                        description="A send not finished after this is taken to have died.")
    recall_reminder_days: int = Field(default=30, ge=1, description="Days between reminders of an open recall.")
    recall_reminders_max: int = Field(default=3, ge=0, description="Reminders per car and recall at most.")
    # Crontab lines (minute hour day month weekday, UTC), or "off".
    schedule_outbox: str = "* * * * *"
    schedule_oncall_reminders: str = "0 7 * * *"
    schedule_recall_reminders: str = "30 7 * * *"
    schedule_proposal_expiry: str = "*/15 * * * *"
    schedule_position_retention: str = "0 3 * * *"
    schedule_event_cleanup: str = "30 3 * * *"
    demo_password: str = "forecourt-demo"
    db_echo: bool = False


    @field_validator("schedule_outbox", "schedule_oncall_reminders", "schedule_recall_reminders",
                     "schedule_proposal_expiry", "schedule_position_retention", "schedule_event_cleanup")
    @classmethod
    def _crontab(cls, value: str) -> str:
        """Five crontab fields or "off", so a typo fails at start-up and not at three in the morning."""
        value = " ".join(value.split())
        if value.lower() == "off":
            return "off"
        fields = value.split(" ")
        allowed = set("0123456789*/,-")
        if len(fields) != 5 or any(not field or set(field) - allowed for field in fields):
            raise ValueError(f"{value!r} is not a crontab line: five fields (minute hour day month weekday), "
                             "e.g. '0 7 * * *', or 'off'")
        return value


def get_settings(**overrides) -> Settings:
    """A fresh settings object; callers pass overrides rather than patching the environment."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def default_settings() -> Settings:
    return Settings()


def ensure_sqlite_dir(url: str) -> None:
    """SQLite cannot create the folder that holds its file, so make ``./var`` on first use."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
