"""Photos at pick-up and return: real pictures kept without their metadata, bad files refused with a clear
error and nothing stored, each photo shown only to its driver, the hub's service staff and the carmaker;
the hub's damage list shows them with the repair status."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.sharing import access, photos, trips
from forecourt.sharing.models import DamageReport, Photo, Reservation
from forecourt.sharing.photos import PhotoStore
from tests.factories import admin_login, browser_for, csrf_token_of
from tests.sharing import pictures
from tests.sharing.scene import ready_driver, report
from tests.sharing.test_trips import booked_trip, vin_of
from tests.sharing.test_web import fleet

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GPS = 0x8825


def files_in(directory) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*") if p.is_file())


def _unlocked(make, session):
    dealer, hub, (car, other), driver, reservation = booked_trip(make, session)
    code = access.issue_code(session=session, reservation=reservation)
    access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
    return dealer, hub, car, driver, reservation


def test_a_phone_picture_is_kept_upright_without_its_metadata_with_a_thumbnail(make, session, tmp_path):
    original = pictures.jpeg(width=1600, height=1200)
    assert GPS in Image.open(io.BytesIO(original)).getexif()  # the phone said where it was
    store = PhotoStore(tmp_path)
    with frozen_at(NOON):
        _dealer, _hub, car, driver, reservation = _unlocked(make, session)
        trips.check_out(session=session, reservation=reservation, damage="Dent in the tailgate",
                        photos_taken=[original, pictures.png(), pictures.webp()], store=store)
    kept = photos.of_reservation(session=session, reservation_id=reservation.id)
    assert [p.content_type for p in kept] == ["image/jpeg", "image/png", "image/webp"]
    assert {p.reservation_id for p in kept} == {reservation.id} and all(p.data is None for p in kept)
    [damage] = session.scalars(select(DamageReport).where(DamageReport.car_id == car.id))
    assert {p.damage_id for p in kept} == {damage.id} and damage.status == "reported"
    stored = store.read(kept[0].checksum)
    again = Image.open(io.BytesIO(stored))
    assert again.format == "JPEG" and again.size == (1600, 1200) and (kept[0].width, kept[0].height) == (1600, 1200)
    assert GPS not in again.getexif() and 0x010F not in again.getexif()  # neither where nor which phone
    thumbnail = Image.open(io.BytesIO(store.read(kept[0].checksum, thumbnail=True)))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320
    assert len(files_in(tmp_path)) == 6  # three pictures and their thumbnails, named by checksum


@pytest.mark.parametrize(("upload", "said"), [
    (b"%PDF-1.7 not a picture at all", "not a photo"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIC"),
    (pictures.jpeg()[:400], "could not be read"),
    (b"\xff\xd8\xff" + b"\x00" * (photos.MAX_PHOTO_BYTES + 1), "at most 10 MB"),
    (b"", None),  # an empty file field is no photo: skipped, not refused
])
def test_bad_files_are_refused_before_anything_is_kept(make, session, tmp_path, upload, said):
    store = PhotoStore(tmp_path)
    with frozen_at(NOON):
        _dealer, _hub, _car, _driver, reservation = _unlocked(make, session)
        if said is None:
            trips.check_out(session=session, reservation=reservation, photos_taken=[upload], store=store)
            assert reservation.status == "active"
            return
        with pytest.raises(Invalid, match=said):
            trips.check_out(session=session, reservation=reservation, damage="Scratch",
                            photos_taken=[pictures.png(), upload], store=store)
    assert reservation.status == "booked"  # the good photo before the bad one was not kept either
    assert session.scalar(select(func.count(Photo.id)).where(Photo.reservation_id == reservation.id)) == 0
    assert session.scalar(select(func.count(DamageReport.id)).where(
        DamageReport.reservation_id == reservation.id)) == 0
    assert files_in(tmp_path) == []


def test_too_many_photos_at_once_are_refused(make, session, tmp_path):
    with frozen_at(NOON):
        _dealer, _hub, _car, _driver, reservation = _unlocked(make, session)
        with pytest.raises(Invalid, match="At most 6 photos"):
            trips.check_out(session=session, reservation=reservation, store=PhotoStore(tmp_path),
                            photos_taken=[pictures.png()] * (photos.MAX_PHOTOS + 1))
    assert reservation.status == "booked" and files_in(tmp_path) == []


def _returned_with_a_photo(make, session, client):
    """The driver's phone page: pick up, then return with a declared scratch and a photo of it."""
    dealer, hub, (car, _other) = fleet(make, session)
    driver = ready_driver(make)
    session.commit()
    phone = browser_for(make, make.customer_login(driver))
    token = csrf_token_of(session, phone)
    made = phone.post("/me/sharing/reserve", data={"csrf_token": token, "car_id": car.id, "hours": "1",
                                                   "quoted_deposit": "100.00"}, follow_redirects=False)
    url = made.headers["location"].split("?")[0]
    phone.post(f"{url}/confirm", data={"csrf_token": token})
    code = phone.post(f"{url}/code", data={"csrf_token": token}, follow_redirects=False).headers["location"]
    phone.post(f"{url}/unlock", data={"csrf_token": token, "vin": vin_of(session, car), "code": code[-6:]})
    page = phone.get(url)
    assert 'type="file" name="photos" accept="image/*" capture="environment" multiple' in page.text
    phone.post(f"{url}/check-out", data={"csrf_token": token, "damage": ""})
    report(session, car.vehicle_id, odometer=1012.0)
    session.commit()
    returned = phone.post(f"{url}/return", data={"csrf_token": token, "damage": "Scratch on the left mirror"},
                          files=[("photos", ("mirror.jpg", pictures.jpeg(), "image/jpeg"))])
    assert returned.status_code == 200 and "your bill is below" in returned.text
    number = url.rsplit("/", 1)[1]
    reservation = session.scalars(select(Reservation).where(Reservation.number == number)).one()
    [photo] = photos.of_reservation(session=session, reservation_id=reservation.id)
    assert f'src="/sharing/photos/{photo.id}?size=thumb"' in returned.text
    return dealer, hub, car, driver, phone, reservation, photo


def test_the_hub_sees_the_returned_photo_with_the_damage_and_moves_it_to_fixed(make, session, client):
    dealer, _hub, car, driver, phone, reservation, photo = _returned_with_a_photo(make, session, client)
    advisor = browser_for(make, make.staff(dealer, Role.DEALER_SERVICE))
    board = advisor.get("/workspace/hub")
    assert "Scratch on the left mirror" in board.text and f'/sharing/photos/{photo.id}?size=thumb' in board.text
    image = advisor.get(f"/sharing/photos/{photo.id}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (640, 480)
    thumb = advisor.get(f"/sharing/photos/{photo.id}", params={"size": "thumb"})
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320
    [damage] = session.scalars(select(DamageReport).where(DamageReport.car_id == car.id))
    token = csrf_token_of(session, advisor)
    refused = advisor.post(f"/workspace/hub/damage/{damage.id}/status", data={"csrf_token": token, "status": "gone"})
    assert "Choose reported, being repaired or fixed" in refused.text
    session.expire_all()
    assert session.get(DamageReport, damage.id).status == "reported"
    for status, shown in (("repairing", "Being repaired"), ("fixed", "Fixed")):
        page = advisor.post(f"/workspace/hub/damage/{damage.id}/status", data={"csrf_token": token, "status": status})
        assert page.status_code == 200 and shown in page.text
        session.expire_all()
        assert session.get(DamageReport, damage.id).status == status
    assert trips.open_damage(session=session, car_id=car.id) == []  # the next driver no longer sees it


def test_a_photo_exists_only_for_its_driver_the_hub_service_staff_and_the_carmaker(make, session, client):
    dealer, _hub, _car, _driver, phone, _reservation, photo = _returned_with_a_photo(make, session, client)
    url = f"/sharing/photos/{photo.id}"
    assert phone.get(url).status_code == 200
    assert browser_for(make, admin_login(make)).get(url).status_code == 200
    for stranger in (make.customer_login(make.customer()), make.staff(dealer, Role.DEALER_SALES),
                     make.staff(make.dealer(), Role.DEALER_SERVICE)):
        answer = browser_for(make, stranger).get(url)
        assert answer.status_code == 404 and b"\xff\xd8" not in answer.content
    assert browser_for(make).get(url, follow_redirects=False).status_code in (303, 307, 401)
    assert phone.get(f"/sharing/photos/{photo.id + 999}").status_code == 404


def test_the_app_adds_photos_and_refuses_bad_ones_and_other_bookings(make, session, client):
    _dealer, _hub, _car, driver, _phone, reservation, first = _returned_with_a_photo(make, session, client)
    me = make.customer_login(driver)
    base = f"/api/me/sharing/reservations/{reservation.number}/photos"
    added = client.post(base, headers=me.headers, files=[("photos", ("a.png", pictures.png(), "image/png")),
                                                         ("photos", ("b.webp", pictures.webp(), "image/webp"))])
    assert added.status_code == 201, added.text
    assert [p["stage"] for p in added.json()] == ["return", "return"]
    listed = client.get(base, headers=me.headers).json()
    assert [p["id"] for p in listed][0] == first.id and len(listed) == 3
    got = client.get(listed[1]["url"], headers=me.headers)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    before = session.scalar(select(func.count(Photo.id)))
    lying = client.post(base, headers=me.headers,
                        files=[("photos", ("x.jpg", b"<html>no picture</html>", "image/jpeg"))])
    assert lying.status_code == 422 and "not a photo" in lying.text
    assert session.scalar(select(func.count(Photo.id))) == before
    other = make.customer_login(make.customer())
    assert client.get(listed[0]["url"], headers=other.headers).status_code == 404
    assert client.post(base, headers=other.headers,
                       files=[("photos", ("a.png", pictures.png(), "image/png"))]).status_code == 404
    assert session.scalar(select(func.count(Photo.id))) == before


def test_an_app_upload_too_large_for_the_request_is_refused_before_it_is_read(make, session, client):
    driver = make.customer()
    me = make.customer_login(driver)
    body = b"x" * (photos.BODY_LIMIT + 1)
    answer = client.post("/api/me/sharing/reservations/SH-NONE/photos", headers=me.headers | {
        "content-type": "multipart/form-data; boundary=xyz"}, content=body)
    assert answer.status_code == 413 and "Nothing was stored" in answer.text


def test_a_damage_status_change_at_the_desk_is_for_the_hubs_own_service_staff(make, session, client):
    dealer, hub, (car, _other) = fleet(make, session)
    report_row = DamageReport(car_id=car.id, description="Cracked mirror")
    session.add(report_row)
    session.commit()
    advisor, stranger = make.staff(dealer, Role.DEALER_SERVICE), make.staff(make.dealer(), Role.DEALER_SERVICE)
    url = f"/api/hub/damage/{report_row.id}/status"
    assert client.post(url, headers=stranger.headers, json={"status": "fixed"}).status_code == 404
    assert client.post(url, headers=advisor.headers, json={"status": "mended"}).status_code == 422
    assert client.post(url, headers=advisor.headers, json={"status": "repairing", "x": 1}).status_code == 422
    assert client.post(url, headers=advisor.headers, json={"status": "repairing"}).status_code == 204
    session.expire_all()
    assert session.get(DamageReport, report_row.id).status == "repairing"
    board = client.get("/api/hub/board", headers=advisor.headers).json()
    assert board["damage"][0]["status"] == "repairing" and board["damage"][0]["photos"] == []


def test_staff_looking_at_a_drivers_photo_is_in_the_drivers_access_log(make, session, client):
    dealer, _hub, _car, driver, phone, reservation, photo = _returned_with_a_photo(make, session, client)
    url = f"/sharing/photos/{photo.id}"

    def entries() -> list:
        session.expire_all()
        return [e for e in consent_service.access_log_of(session=session, customer_id=reservation.customer_id)
                if e.what == f"sharing photo {reservation.number}"]

    assert phone.get(url).status_code == 200 and entries() == []  # the driver's own look is no one else's read
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    assert browser_for(make, advisor).get(url, params={"size": "thumb"}).status_code == 200
    [logged] = entries()
    assert (logged.organization_id, logged.user_id, logged.purpose_code, logged.reference) == (
        dealer.id, advisor.user_id, "car_sharing", reservation.number)
    assert browser_for(make, make.staff(make.dealer(), Role.DEALER_SERVICE)).get(url).status_code == 404
    assert len(entries()) == 1  # a refused look reads nothing and logs nothing
