"""One settings object for the whole process, read from the environment (prefix ``FORECOURT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
    cookie_secure: bool | None = Field(
        default=None,
        description="Send cookies only over HTTPS. Unset: yes, unless the site is served on localhost over HTTP.",
    )
    session_hours: int = 12
    api_token_days: int = 30
    login_max_failures: int = Field(default=5, ge=1,
                                    description="Failed logins from one client address before it must wait.")
    login_window_seconds: int = Field(default=900, ge=1, description="How long failed logins are remembered; "
                                                                     "also the longest wait.")
    login_backoff_seconds: int = Field(default=30, ge=1, description="The first wait; it doubles with every "
                                                                     "further failure, up to the window.")
    device_max_failures: int = Field(default=30, ge=1, description="Refused device reports (unknown device or "
                                                                   "wrong token) from one client address per window.")
    device_window_seconds: int = Field(default=900, ge=1)
    position_retention_days: int = Field(default=90, ge=1, description="Raw positions older than this are deleted.")
    order_deposit_percent: float = Field(default=10, ge=0, le=100,
                                         description="Deposit on an online order, in percent of its price.")
    order_deposit_minimum: int = Field(default=500, ge=0, description="The smallest deposit, in euros.")
    smtp_host: str = Field(default="127.0.0.1", description="Mail server the outbox sender hands e-mails to.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    mail_from: str = Field(default="Forecourt <no-reply@forecourt.example>",
                           description="Sender of e-mails to owners (recall notices, service proposals).")
    portal_url: str = Field(default="http://127.0.0.1:8000", description="Links in e-mails point here.")
    demo_password: str = "forecourt-demo"
    db_echo: bool = False


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
