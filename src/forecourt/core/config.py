"""One settings object for the whole process, read from the environment (prefix ``FORECOURT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What a Teltonika tracker runs for each remote command unless FORECOURT_TRACKER_COMMANDS says otherwise:
# the usual wiring of a central lock to an FMB's outputs, DOUT1 pulsed for two seconds unlocks, DOUT2 locks.
TRACKER_COMMANDS = {"unlock": "setdigout 1? 2", "lock": "setdigout ?1 0 2", "status": "getstatus"}
TRACKER_COMMAND_MAX = 200


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
    ledger_keep_days: int = Field(
        default=14, ge=1, le=3650,
        description="How long the exactly-once ledger remembers a stored message's key, in days: a message "
                    "redelivered or resent within this time is still stored once. At least the broker's session "
                    "expiry (7 days) plus the longest a device keeps unacknowledged messages.")
    order_deposit_percent: float = Field(default=10, ge=0, le=100,
                                         description="Deposit on an online order, in percent of its price.")
    order_deposit_minimum: int = Field(default=500, ge=0, description="The smallest deposit, in euros.")
    map_tile_url: str = Field(
        default="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="The map tiles every map draws on, as a Leaflet URL template ({s} subdomain, {z}/{x}/{y}). "
                    "The public OpenStreetMap servers forbid heavy use: point this at your own or a paid tile "
                    "server in production. Its origin is allowed in the pages' Content-Security-Policy.")
    map_tile_attribution: str = Field(
        default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        description="The credit the tile server's licence asks for, shown in the corner of every map (HTML).")
    map_tile_subdomains: str = Field(default="abc", description="What {s} in FORECOURT_MAP_TILE_URL may stand for.")
    smtp_host: str = Field(default="127.0.0.1", description="Mail server the outbox sender hands e-mails to.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="starttls: upgrade a plain connection (port 587); tls: implicit TLS (port 465).")
    smtp_user: str | None = Field(default=None, description="Log in to the mail server as this user.")
    smtp_password: SecretStr | None = None
    smtp_ca_file: str | None = Field(default=None, description="PEM file of certificates to trust for the mail "
                                                                "server besides the system's (a private CA).")
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    mailsink_dir: str = Field(default="./var/mail", description="Where `forecourt mailsink` keeps the e-mails it "
                                                                 "catches (a maildir), for the admin to read.")
    photos_dir: str = Field(default="./var/photos", description="Where photos of shared cars are kept, one file "
                                                               "per picture named by its SHA-256 (the database "
                                                               "keeps a row per photo). Shared by every web process.")
    dispatch_webhook_attempts: int = Field(default=5, ge=1, description="Failed webhook deliveries of a dispatch "
                                                                        "notice before it goes by e-mail instead.")
    webhook_timeout_seconds: float = Field(default=5, gt=0)
    mail_from: str = Field(default="Forecourt <no-reply@forecourt.example>",
                           description="Sender of e-mails to owners (recall notices, service proposals).")
    portal_url: str = Field(default="http://127.0.0.1:8000", description="Links in e-mails point here.")
    geocoder_url: str | None = Field(
        default=None, description="A reverse geocoding service speaking Nominatim's /reverse (a self-hosted "
        "Nominatim): the On Call console then names the street of a position. Unset, the nearest town is "
        "named from data shipped with Forecourt, without any service.")
    market: str | None = Field(default=None, description="The market visitors are served in (two letters, DE or "
                               "KR): their prices' currency and, without FORECOURT_TIME_ZONE, their clock.")
    time_zone: str | None = Field(default=None, description="The IANA zone visitors and jobs see times in "
                                  "(Asia/Seoul); unset, the market's. An unknown name falls back with a warning.")
    payment_provider: Literal["manual", "stripe"] = Field(
        default="manual", description="How customers pay: at the dealer's till (manual) or by card online (stripe).")
    stripe_secret_key: SecretStr | None = Field(default=None, description="The card provider's secret API key.")
    stripe_publishable_key: str = Field(default="", description="The card provider's key for the browser.")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="Signs the card provider's notifications; unsigned ones are ignored.")
    stripe_api_base: str | None = Field(default=None, description="Another API address (a local test server).")
    ingest_share_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Ingest workers subscribe as this MQTT 5 shared-subscription group ($share/GROUP/vehicles/+/"
                    "telemetry), so the broker spreads the fleet over all of them. Unset: a plain subscription "
                    "(one worker, the embedded default).")
    database_replica_url: str | None = Field(
        default=None, description="A read replica of the database for the heavy dashboards (pipeline, network "
                                  "benchmark). Unset: they read the primary.")
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
    nps_survey_every_days: int = Field(default=30, ge=1, le=3650,
                                       description="At most one satisfaction survey per driver in this many days.")
    nps_quiet_from_hour: int = Field(default=21, ge=0, le=23,
                                     description="Survey invitations wait from this hour of the driver's clock ...")
    nps_quiet_until_hour: int = Field(default=8, ge=0, le=23, description="... until this hour.")
    nps_survey_valid_days: int = Field(default=30, ge=1, le=365, description="How long a survey link answers.")
    nps_follow_up_hours: int = Field(default=48, ge=1, le=24 * 30,
                                     description="Target for a detractor's follow-up; later, it escalates.")
    # Crontab lines (minute hour day month weekday, UTC), or "off".
    schedule_outbox: str = "* * * * *"
    schedule_oncall_reminders: str = "0 7 * * *"
    schedule_recall_reminders: str = "30 7 * * *"
    schedule_proposal_expiry: str = "*/15 * * * *"
    schedule_position_retention: str = "0 3 * * *"
    schedule_ledger_retention: str = "20 * * * *"
    schedule_event_cleanup: str = "30 3 * * *"
    schedule_nps_escalation: str = "*/15 * * * *"
    schedule_command_timeouts: str = "* * * * *"
    schedule_sharing_trips: str = "* * * * *"
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883",
                          description="The MQTT broker cars take their commands from (mqtt://user:password@host:port).")
    command_deadline_seconds: int = Field(default=30, ge=5, le=600,
                                          description="How long a car has to answer a lock or unlock from "
                                                      "its owner's phone before it is reported as not done.")
    tracker_commands: dict[str, str] = Field(
        default_factory=lambda: dict(TRACKER_COMMANDS),
        description="The Codec 12 text a Teltonika tracker runs for each remote command, as JSON "
                    '(\'{"unlock": "setdigout 1", "lock": "setdigout 0"}\'): it depends on how the '
                    "car's central lock is wired to the tracker's outputs. Actions left out keep their default.")
    schedule_occasions: str = "15 6 * * *"
    engagement_control_share: float = Field(
        default=0.1, ge=0, le=0.5,
        description="Share of occasions held out at random from the coordinated message (the control group).")
    engagement_hold_hours: int = Field(default=48, ge=0, le=24 * 14,
                                       description="A composed message waits this long for close occasions to merge in.")
    engagement_quiet_from: int = Field(default=21, ge=0, le=23, description="Quiet hours start (driver's clock).")
    engagement_quiet_until: int = Field(default=8, ge=0, le=23, description="Quiet hours end (driver's clock).")
    schedule_partitions: str = "15 2 * * *"
    write_wait_seconds: float = Field(
        default=15.0, gt=0, le=300,
        description="How long a web request waits for its turn to write (SQLite's single writer) before it "
                    "is answered 503 with Retry-After: only true overload is refused.")
    demo_password: str = "forecourt-demo"
    db_echo: bool = False

    @model_validator(mode="after")
    def _login_needs_tls(self) -> Settings:
        # A password sent over a plain connection is a password given away.
        if self.smtp_user and self.smtp_security == "none":
            raise ValueError("FORECOURT_SMTP_USER needs FORECOURT_SMTP_SECURITY=starttls or tls: the password "
                             "would cross the network in clear text.")
        return self


    @field_validator("tracker_commands")
    @classmethod
    def _tracker_commands(cls, value: dict[str, str]) -> dict[str, str]:
        """Known actions, each one line of printable ASCII a tracker accepts; unlock and lock differ, so a
        mistyped setting cannot make both do the same."""
        unknown = sorted(set(value) - set(TRACKER_COMMANDS))
        if unknown:
            raise ValueError(f"unknown tracker command {unknown[0]!r}: the actions are {', '.join(TRACKER_COMMANDS)}")
        texts = dict(TRACKER_COMMANDS)
        for action, text in value.items():
            text = str(text).strip()
            if not 1 <= len(text) <= TRACKER_COMMAND_MAX or not text.isascii() or not text.isprintable():
                raise ValueError(f"the tracker command for {action!r} is 1 to {TRACKER_COMMAND_MAX} printable "
                                 f"ASCII characters on one line, not {text!r}")
            texts[action] = text
        if texts["unlock"] == texts["lock"]:
            raise ValueError(f"the tracker's unlock and lock commands are the same ({texts['lock']!r})")
        return texts

    @field_validator("schedule_outbox", "schedule_oncall_reminders", "schedule_recall_reminders",
                     "schedule_proposal_expiry", "schedule_position_retention", "schedule_ledger_retention",
                     "schedule_event_cleanup",
                     "schedule_nps_escalation", "schedule_command_timeouts", "schedule_sharing_trips",
                     "schedule_occasions", "schedule_partitions")
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
