"""What an answer is about: keyword tagging per language, which the responsible staff may correct.

The words are matched as lower-case substrings of the answer, so German compounds ("Wartezeit",
"Werkstatttermin") and Korean words with their particles ("대기시간이", "직원분이") are found without a
tokenizer. A miss costs little: the dealer sees the answer under "Other" and sets the topic by hand,
and a hand-set topic replaces the keywords' guess for good.
"""

from __future__ import annotations

from forecourt.core.i18n import Labels, N_

OTHER = "other"
TOPICS = Labels({
    "waiting": N_("Waiting time"),
    "price": N_("Price"),
    "staff": N_("Staff and advice"),
    "communication": N_("Communication"),
    "quality": N_("Quality of work"),
    "vehicle": N_("The car itself"),
    "help": N_("Help on the road"),
    OTHER: N_("Other"),
})

KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "waiting": {"en": ("wait", "slow", "late", "delay", "took long", "hours"),
                "de": ("wart", "langsam", "spät", "verspät", "dauer", "stunden"),
                "ko": ("기다", "대기", "늦", "지연", "오래")},
    "price": {"en": ("price", "expensive", "cost", "cheap", "bill", "invoice", "charge"),
              "de": ("preis", "teuer", "kosten", "günstig", "rechnung"),
              "ko": ("가격", "비싸", "비용", "요금", "청구", "저렴")},
    "staff": {"en": ("staff", "friendly", "rude", "advisor", "helpful", "polite", "salesperson"),
              "de": ("personal", "freundlich", "unfreundlich", "berater", "hilfsbereit", "mitarbeiter"),
              "ko": ("직원", "친절", "불친절", "상담", "어드바이저", "응대")},
    "communication": {"en": ("call back", "called", "informed", "email", "no one told", "update", "phone"),
                      "de": ("rückruf", "angerufen", "informiert", "e-mail", "bescheid", "telefon"),
                      "ko": ("연락", "전화", "안내", "문자", "이메일", "설명")},
    "quality": {"en": ("fixed", "repair", "not fixed", "again", "quality", "dirty", "clean", "work"),
                "de": ("repariert", "reparatur", "wieder", "qualität", "schmutzig", "sauber", "arbeit"),
                "ko": ("수리", "정비", "다시", "품질", "더러", "깨끗", "작업")},
    "vehicle": {"en": ("the car", "engine", "noise", "battery", "range", "model"),
                "de": ("das auto", "motor", "geräusch", "batterie", "reichweite", "modell"),
                "ko": ("차량", "엔진", "소음", "배터리", "주행거리", "모델")},
    "help": {"en": ("tow", "breakdown", "rescue", "emergency", "on call", "arrived"),
             "de": ("abschlepp", "panne", "notfall", "pannenhilfe", "angekommen"),
             "ko": ("견인", "고장", "긴급", "출동", "도착")},
}


def tag(text: str | None, language: str) -> list[str]:
    """The topics the answer's words point to (in the order of ``TOPICS``); ``["other"]`` when none.

    The answer's own language first; English words are tried too, since drivers mix them in."""
    words = (text or "").lower()
    if not words.strip():
        return [OTHER]
    found = [topic for topic, by_language in KEYWORDS.items()
             if any(keyword in words for lang in {language, "en"} for keyword in by_language.get(lang, ()))]
    return found or [OTHER]


def label(code: str) -> str:
    return TOPICS.get(code, code)
