"""Towns, names, numbers and habits of the Korean demo market.

Positions are the city halls of Seoul, Busan, Daegu, Incheon, Suwon and Ulsan; addresses are road-name
addresses (도로명주소) with their district and the 5-digit postcode of that district's range; numbers are
E.164 (mobiles 010, landlines with the city's area code); plates are the private-car kind ("12가 3456").
Names are family name first, as Koreans write them: family names weighted by how common they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from random import Random

from forecourt.demo.geography import City

# name, latitude, longitude, population, (first postcode, last postcode), area code, {district: roads}
_TOWNS = (
    ("서울특별시", 37.5665, 126.9780, 9_386_000, (1000, 8899), "2", {
        "강남구": ("테헤란로", "도산대로", "봉은사로"), "서초구": ("강남대로", "반포대로"),
        "송파구": ("올림픽로", "송파대로"), "마포구": ("월드컵북로", "양화로"),
        "영등포구": ("여의대로", "국제금융로"), "종로구": ("세종대로", "종로"), "성동구": ("왕십리로", "성수이로")}),
    ("부산광역시", 35.1796, 129.0756, 3_293_000, (46000, 49599), "51", {
        "해운대구": ("해운대로", "센텀중앙로"), "부산진구": ("중앙대로", "서면로"), "남구": ("수영로", "용소로"),
        "동래구": ("충렬대로", "명륜로")}),
    ("대구광역시", 35.8714, 128.6014, 2_374_000, (41000, 43099), "53", {
        "수성구": ("달구벌대로", "동대구로"), "중구": ("국채보상로", "동성로"), "달서구": ("월배로", "달서대로"),
        "북구": ("칠곡중앙대로", "침산로")}),
    ("인천광역시", 37.4563, 126.7052, 2_997_000, (21000, 23199), "32", {
        "연수구": ("컨벤시아대로", "센트럴로"), "남동구": ("인주대로", "예술로")}),
    ("경기도 수원시", 37.2636, 127.0286, 1_190_000, (16200, 16799), "31", {
        "영통구": ("광교로", "봉영로"), "팔달구": ("정조로", "효원로")}),
    ("울산광역시", 35.5384, 129.3114, 1_103_000, (44000, 45099), "52", {
        "남구": ("삼산로", "번영로"), "중구": ("성남로", "학성로")}),
)
_PLATE_LETTERS = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"


@dataclass(frozen=True)
class KoreanTown(City):
    districts: tuple = ()

    def postcode(self, rng: Random) -> str:
        return f"{rng.randint(*self.postcodes):05d}"

    def street_address(self, rng: Random, streets: tuple[str, ...] = ()) -> str:
        """"강남구 테헤란로 152": district, road and building number (the city goes in ``city``)."""
        district, roads = rng.choice(self.districts)
        return f"{district} {rng.choice(roads)} {rng.randint(1, 420)}"

    def landline(self, rng: Random) -> str:
        exchange = rng.randint(2000, 9999) if self.dialling_code == "2" else rng.randint(200, 999)
        return f"+82{self.dialling_code}{exchange}{rng.randint(1000, 9999)}"

    def registration(self, rng: Random, taken: set[str], electric: bool = False) -> str:
        """A private car's plate: "123가 4567" (three digits since 2019) or the older "12가 3456"."""
        while True:
            head = rng.randint(100, 399) if rng.random() < 0.4 else rng.randint(10, 99)
            plate = f"{head}{rng.choice(_PLATE_LETTERS)} {rng.randint(1000, 9999)}"
            if plate not in taken:
                taken.add(plate)
                return plate


def towns() -> list[KoreanTown]:
    return [KoreanTown(name=name, latitude=lat, longitude=lon, population=population, state="KR",
                       postcodes=codes, plate="", dialling_code=area, country="KR",
                       districts=tuple((d, roads) for d, roads in districts.items()))
            for name, lat, lon, population, codes, area, districts in _TOWNS]


def town_named(name: str) -> KoreanTown:
    return next(t for t in towns() if t.name == name)


# --- people ----------------------------------------------------------------------------------------

FAMILY_NAMES = (("김", 21.5), ("이", 14.7), ("박", 8.4), ("최", 4.7), ("정", 4.3), ("강", 2.4), ("조", 2.1),
                ("윤", 2.1), ("장", 2.0), ("임", 1.7), ("한", 1.5), ("오", 1.5), ("서", 1.5), ("신", 1.4),
                ("권", 1.4), ("황", 1.4), ("안", 1.4), ("송", 1.3), ("류", 1.2), ("홍", 1.1))
GIVEN_NAMES = {
    "민준": "minjun", "서준": "seojun", "도윤": "doyun", "예준": "yejun", "시우": "siu", "하준": "hajun",
    "지호": "jiho", "주원": "juwon", "현우": "hyeonu", "건우": "geonu", "우진": "ujin", "민재": "minjae",
    "지훈": "jihun", "동현": "donghyeon", "성민": "seongmin", "영수": "yeongsu", "영호": "yeongho",
    "정우": "jeongu", "승현": "seunghyeon", "준혁": "junhyeok",
    "서연": "seoyeon", "서윤": "seoyun", "지우": "jiu", "서현": "seohyeon", "민서": "minseo", "하은": "haeun",
    "하윤": "hayun", "윤서": "yunseo", "지민": "jimin", "채원": "chaewon", "수아": "sua", "지윤": "jiyun",
    "다은": "daeun", "은서": "eunseo", "예은": "yeeun", "수빈": "subin", "혜진": "hyejin", "수진": "sujin",
    "미경": "migyeong", "은정": "eunjeong",
}
_ROMAN = {"김": "kim", "이": "lee", "박": "park", "최": "choi", "정": "jung", "강": "kang", "조": "cho",
          "윤": "yoon", "장": "jang", "임": "lim", "한": "han", "오": "oh", "서": "seo", "신": "shin", "권": "kwon",
          "황": "hwang", "안": "ahn", "송": "song", "류": "ryu", "홍": "hong"}
RADIO_STATIONS = ("KBS 쿨FM 89.1", "MBC FM4U 91.9", "SBS 파워FM 107.7", "KBS 클래식FM 93.1", "CBS 음악FM 93.9",
                  "TBS 95.1", "EBS FM 104.5", "부산MBC FM4U 95.9", "대구MBC 표준FM 95.3", "TBN 교통방송 103.1")
DEALER_NAMES = (("HANBIT", "한빛모터스", "hanbit"), ("HAEUN", "해운대오토", "haeundae-auto"),
                ("DALGU", "달구벌모터스", "dalgubeol"))


def person_name(rng: Random) -> tuple[str, str]:
    """(given name, family name), the columns' order; shown family name first."""
    family = rng.choices([f for f, _ in FAMILY_NAMES], [w for _, w in FAMILY_NAMES])[0]
    return rng.choice(tuple(GIVEN_NAMES)), family


def romanised(given: str, family: str) -> tuple[str, str]:
    return GIVEN_NAMES.get(given, "guest"), _ROMAN.get(family, "k")


def email_for(given: str, family: str, number: int, rng: Random) -> str:
    first, last = romanised(given, family)
    return f"{first}.{last}.{number}@{rng.choice(('example.kr', 'example.co.kr', 'example.com'))}"


def mobile_number(rng: Random) -> str:
    return f"+8210{rng.randint(2000, 9999)}{rng.randint(1000, 9999)}"


def language(rng: Random) -> str:
    return "ko" if rng.random() < 0.95 else "en"


def birth_date(rng: Random, today: date) -> date:
    return date.fromordinal(today.toordinal() - rng.randint(20 * 365, 78 * 365))


def preferences(rng: Random, city: City, street: str, postcode: str) -> dict:
    if rng.random() >= 0.35:
        return dict(radio_presets=[], navigation_favourites=[], seat_position={},
                    preferred_contact=rng.choice(("app", "app", "sms", "email")))
    return dict(radio_presets=rng.sample(RADIO_STATIONS, rng.randint(2, 5)),
                navigation_favourites=[dict(label="집", address=f"({postcode}) {city.name} {street}",
                                            latitude=round(city.latitude + rng.uniform(-0.03, 0.03), 5),
                                            longitude=round(city.longitude + rng.uniform(-0.04, 0.04), 5))],
                seat_position=dict(height=rng.randint(2, 12), distance=rng.randint(3, 15), recline=rng.randint(2, 8),
                                   lumbar=rng.randint(0, 6)),
                preferred_contact=rng.choice(("app", "sms", "phone", "email")))
