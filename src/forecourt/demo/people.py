"""Names, contact details and comfort settings that sound like people living in Germany."""

from __future__ import annotations

from datetime import date
from random import Random

from forecourt.demo.geography import City

FIRST_NAMES = (
    "Anna", "Lena", "Laura", "Julia", "Sarah", "Lea", "Hannah", "Sophie", "Marie", "Katharina", "Lisa", "Johanna",
    "Emma", "Mia", "Clara", "Paula", "Charlotte", "Franziska", "Sabine", "Petra", "Monika", "Ursula", "Claudia",
    "Susanne", "Andrea", "Stefanie", "Nicole", "Birgit", "Martina", "Heike", "Jana", "Ayşe", "Elif", "Zeynep",
    "Aleksandra", "Natalia", "Greta", "Ida", "Frieda", "Ingrid",
    "Lukas", "Jonas", "Leon", "Finn", "Paul", "Felix", "Maximilian", "Elias", "Noah", "Ben", "Tim", "Jan",
    "Niklas", "Philipp", "Tobias", "Florian", "Sebastian", "Alexander", "Michael", "Thomas", "Andreas",
    "Stefan", "Markus", "Christian", "Matthias", "Frank", "Jürgen", "Klaus", "Wolfgang", "Uwe", "Dieter",
    "Mehmet", "Murat", "Emre", "Piotr", "Dimitrios", "Henrik", "Moritz", "Jannik", "Till",
)
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
    "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
    "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel",
    "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
    "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
    "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas",
    "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch",
    "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer", "Yılmaz", "Kaya", "Demir",
    "Nowak", "Kowalski", "Papadopoulos", "Rossi", "Petrović",
)
# Dealers are family businesses: "Autohaus Brandt", "Autohaus Seidel" ...
DEALER_FAMILIES = (
    "Brandt", "Seidel", "Hartmann", "Vogt", "Kessler", "Lindner", "Ostermann", "Reuter", "Falk", "Berger",
    "Wendt", "Kramer", "Heller", "Lorenz", "Sommer", "Probst", "Eckert", "Hübner", "Marx", "Dörr", "Adler",
    "Behrens", "Claasen", "Decker", "Ebert", "Fleischer", "Gerlach", "Haase", "Jansen", "Kolb", "Lindemann",
    "Menzel", "Nagel", "Oswald", "Pieper", "Ritter", "Stahl", "Thiel", "Ulrich", "Voss", "Wegner", "Ziegler",
    "Albers", "Brinkmann", "Conrad", "Dittrich", "Engelhardt", "Frey", "Gärtner", "Hermes",
)
RADIO_STATIONS = ("SWR3 99.9", "Bayern 3 97.3", "NDR 2 87.6", "WDR 2 99.2", "radioeins 95.8", "hr3 89.3",
                  "Antenne Bayern 101.3", "1LIVE 106.7", "Deutschlandfunk 97.7", "MDR Jump 90.4",
                  "Bremen Vier 101.2", "Hit Radio FFH 105.9", "Klassik Radio 98.2", "Fritz 102.6",
                  "SWR1 94.7", "Radio Hamburg 103.6", "Jazzradio 106.8", "BR-Klassik 102.1")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ş": "s", "ı": "i", "ć": "c", "é": "e"})
_MAIL_DOMAINS = ("example.com", "example.net", "example.org")


def ascii_slug(text: str) -> str:
    """Lower-case ASCII for e-mail addresses and web-style slugs ("Jürgen Groß" -> "juergen-gross")."""
    cleaned = text.lower().translate(_UMLAUTS)
    slug = "".join(c if c.isalnum() and c.isascii() else "-" for c in cleaned)
    return "-".join(part for part in slug.split("-") if part)


def person_name(rng: Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def email_for(first: str, last: str, number: int, rng: Random) -> str:
    """Unique by construction: the running customer number is part of the address."""
    local = f"{ascii_slug(first)}.{ascii_slug(last)}".replace("-", "")
    return f"{local}.{number}@{rng.choice(_MAIL_DOMAINS)}"


def mobile_number(rng: Random) -> str:
    prefix = rng.choice(("151", "152", "157", "160", "162", "170", "171", "172", "175", "176", "177", "179"))
    return f"+49{prefix}{rng.randint(10_000_000, 99_999_999)}"  # E.164, as every stored number


def language(rng: Random) -> str:
    """Most drivers in Germany read German; some prefer English."""
    return "de" if rng.random() < 0.9 else "en"


def birth_date(rng: Random, today: date) -> date:
    age_days = rng.randint(19 * 365, 82 * 365)
    return date.fromordinal(today.toordinal() - age_days)


def preferences(rng: Random, city: City, street: str, postcode: str) -> dict:
    """About a third of drivers have set up their car; the rest keep the defaults."""
    if rng.random() >= 0.35:
        return dict(radio_presets=[], navigation_favourites=[], seat_position={},
                    preferred_contact=rng.choice(("email", "email", "phone", "app")))
    favourites = [dict(label="Home", address=f"{street}, {postcode} {city.name}",
                       latitude=round(city.latitude + rng.uniform(-0.03, 0.03), 5),
                       longitude=round(city.longitude + rng.uniform(-0.04, 0.04), 5))]
    if rng.random() < 0.6:
        favourites.append(dict(label="Work", address=f"{city.street_address(rng)}, {city.name}",
                               latitude=round(city.latitude + rng.uniform(-0.05, 0.05), 5),
                               longitude=round(city.longitude + rng.uniform(-0.07, 0.07), 5)))
    return dict(
        radio_presets=rng.sample(RADIO_STATIONS, rng.randint(2, 6)),
        navigation_favourites=favourites,
        seat_position=dict(height=rng.randint(2, 12), distance=rng.randint(3, 15), recline=rng.randint(2, 8),
                           lumbar=rng.randint(0, 6)),
        preferred_contact=rng.choice(("email", "phone", "sms", "app")),
    )
