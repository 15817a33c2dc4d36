def test_dealer_sees_customer_only_with_grant(make, client):
    dealer = make.dealer()
    rep = make.staff(dealer)
    customer = make.customer()
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 404
    make.grant(customer, dealer, "sales_contact")
    response = client.get(f"/api/customers/{customer.id}", headers=rep.headers)
    assert response.status_code == 200
    assert response.json()["customer"]["email"] == customer.email
    make.withdraw(customer, dealer, "sales_contact")
    assert client.get(f"/api/customers/{customer.id}", headers=rep.headers).status_code == 404
