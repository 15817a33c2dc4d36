"""What the Korean dealers' reps wrote, in Korean: the network-wide sales builders write their notes,
post-mortems, deal titles and enquiry messages in English, and a Korean rep would not have.

Applied by ``korea.finish`` to the Korean dealers' rows only, as exact replacements of the builders' texts.
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from forecourt.sales.models import Activity, Lead, Opportunity

POST_MORTEMS = {
    "Our best offer stayed 1,900 € above the competitor's; we should have put the winter tyres in earlier.":
        "최종 제안가가 경쟁사보다 270만 원 높았습니다. 윈터 타이어 혜택을 더 일찍 제시했어야 했습니다.",
    "Monthly rate was the deciding figure; present the finance rate before the cash price next time.":
        "월 납입금이 결정 요인이었습니다. 다음에는 현금가보다 할부 조건을 먼저 안내하겠습니다.",
    "Lost to a dealer with a demonstrator on site the same day; book test drives within 48 hours.":
        "당일 시승차를 바로 보여 준 딜러에게 놓쳤습니다. 시승은 48시간 안에 잡아야 합니다.",
    "The competitor offered a longer warranty; mention our 8-year battery warranty up front.":
        "경쟁사가 더 긴 보증을 제시했습니다. 8년 배터리 보증을 처음부터 강조해야 합니다.",
    "Finance partner declined; check affordability before the offer stage.":
        "할부 심사가 거절되었습니다. 견적 단계 전에 상환 능력을 먼저 확인해야 합니다.",
    "Buyer postponed to next year after a job change; set a follow-up for January.":
        "이직으로 구매를 내년으로 미루셨습니다. 1월에 다시 연락하도록 일정을 잡았습니다.",
    "No answer after the offer; we waited eight days before calling, which was too long.":
        "견적 후 답이 없었습니다. 8일이나 지나서 연락드린 것이 너무 늦었습니다.",
    "Wanted the colour within three weeks; we could not source it from the network stock in time.":
        "3주 안에 원하는 색상을 원하셨지만 네트워크 재고에서 제때 구하지 못했습니다.",
    "Trade-in valuation disappointed; ask for the trade-in's service history at the first visit.":
        "보상 판매 평가액에 실망하셨습니다. 첫 방문 때 기존 차량의 정비 이력을 요청해야 합니다.",
    "Bought a two-year-old demonstrator elsewhere; offer our approved used cars alongside the new one.":
        "다른 곳에서 2년 된 전시차를 구매하셨습니다. 신차와 함께 인증 중고차도 제안해야 합니다.",
}
NOTES = {
    "Test drive, 40 minutes including the motorway.": "시승 40분, 고속도로 구간 포함.",
    "Showroom visit; compared trims and colours.": "전시장 방문, 트림과 색상을 비교하셨습니다.",
}
MESSAGES = {"I would like to see the car and talk about a trade-in.": "차량을 직접 보고 보상 판매도 상담하고 싶습니다."}
# Workshop visits of the network-wide builders (``fleet.workshop_visit``), as a Korean service centre writes them.
SERVICE = {
    "Annual inspection": "정기 점검", "Brake check": "브레이크 점검", "Lights and wipers": "등화장치 및 와이퍼 점검",
    "Diagnostics read-out": "진단기 점검", "High-voltage battery check": "고전압 배터리 점검", "Oil service": "엔진오일 교환",
    "Engine oil and filter": "엔진오일 및 필터 교환", "Air filter": "에어 필터 교환",
    "Service interval reset": "점검 주기 초기화", "Seasonal tyre change": "계절 타이어 교체",
    "Winter/summer tyre swap": "윈터/서머 타이어 교체", "Wheel balancing": "휠 밸런스 조정", "Tyre storage": "타이어 보관",
    "New tyres": "신품 타이어 장착", "4 new tyres": "신품 타이어 4개", "Wheel alignment": "휠 얼라인먼트",
    "Front brake pads and discs replaced": "앞 브레이크 패드 및 디스크 교체", "12 V battery replaced": "12V 배터리 교체",
    "Air-conditioning service": "에어컨 점검", "Windscreen chip repaired": "앞유리 파손 수리",
    "Wiper blades and headlamp bulb": "와이퍼 블레이드 및 전조등 전구 교체", "Rear shock absorbers replaced": "뒤 쇼크 업소버 교체",
    "Software update and diagnostics": "소프트웨어 업데이트 및 진단", "Wheel bearing replaced (front left)": "휠 베어링 교체(앞 왼쪽)",
}


def translate_service(record) -> None:
    """One workshop visit of a Korean car, written as its Korean service centre writes it."""
    record.summary = SERVICE.get(record.summary, record.summary)
    record.operations = [SERVICE.get(op, op) if isinstance(op, str)
                         else op | {"description": SERVICE.get(op.get("description"), op.get("description"))}
                         for op in record.operations or []]


EVENTS = {"Spring open day": "봄맞이 오픈 하우스", "Electric weekend": "전기차 주말 시승회",
          "Launch evening": "신차 출시 행사"}


def translate_sales(session: Session, dealer_ids: list[int]) -> None:
    for english, korean in POST_MORTEMS.items():
        session.execute(update(Opportunity).where(Opportunity.dealer_id.in_(dealer_ids),
                                                  Opportunity.post_mortem == english).values(post_mortem=korean))
    session.execute(update(Opportunity).where(Opportunity.dealer_id.in_(dealer_ids)).values(
        title=func.replace(func.replace(Opportunity.title, " for a private buyer", " · 개인 고객"),
                           " for a fleet", " · 법인 고객")))
    for english, korean in NOTES.items():
        session.execute(update(Activity).where(Activity.dealer_id.in_(dealer_ids), Activity.notes == english)
                        .values(notes=korean))
    for english, korean in MESSAGES.items():
        session.execute(update(Lead).where(Lead.dealer_id.in_(dealer_ids), Lead.message == english)
                        .values(message=korean))
    for english, korean in EVENTS.items():
        session.execute(update(Lead).where(Lead.dealer_id.in_(dealer_ids), Lead.event_name == english)
                        .values(event_name=korean))
