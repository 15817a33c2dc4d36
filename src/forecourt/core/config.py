"""One settings object for the whole process, read from the environment (prefix ``FORECOURT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from typing import Literal

from pydantic import Field, SecretStr
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
    payment_provider: Literal["manual", "stripe"] = Field(
        default="manual", description="How customers pay: at the dealer's till (manual) or by card online (stripe).")
    stripe_secret_key: SecretStr | None = Field(default=None, description="The card provider's secret API key.")
    stripe_publishable_key: str = Field(default="", description="The card provider's key for the browser.")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="Signs the card provider's notifications; unsigned ones are ignored.")
    stripe_api_base: str | None = Field(default=None, description="Another API address (a local test server).")
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
