from forecourt.parties import service as parties_service


def test_deactivating_an_organization_locks_out_its_staff_at_once(make, client, session):
    dealer = make.dealer()
    rep = make.staff(dealer)
    assert client.get("/api/customers", headers=rep.headers).status_code == 200
    parties_service.update_organization(session=session, organization_id=dealer.id, changes={"is_active": False})
    session.commit()
    assert client.get("/api/customers", headers=rep.headers).status_code == 401
    response = client.post("/api/auth/token", json={"email": rep.email, "password": "correct-horse-battery"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "Wrong e-mail or password."
