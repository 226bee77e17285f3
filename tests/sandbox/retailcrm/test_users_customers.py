"""`users` (pagination, filters, status) and the minimal `customers` base."""

from __future__ import annotations

import httpx
import pytest

from .support import API, Crm


@pytest.fixture
def staff(crm: Crm) -> Crm:
    """45 managers; every third is busy, every fifth inactive, user 1 an admin in group `lead`."""
    for number in range(1, 46):
        crm.emulator.add_user(
            f"Manager{number}",
            "Test",
            f"m{number}@shop.test",
            status="busy" if number % 3 == 0 else "free",
            active=number % 5 != 0,
            is_admin=number == 1,
            groups=[{"id": 1, "name": "Руководители", "code": "lead"}] if number == 1 else [],
        )
    return crm


def test_pages_of_twenty(staff: Crm, http: httpx.Client) -> None:
    last = http.get(f"{API}/users", params={"page": 3}).json()
    beyond = http.get(f"{API}/users", params={"page": 4}).json()

    assert last["pagination"] == {
        "limit": 20,
        "totalCount": 45,
        "currentPage": 3,
        "totalPageCount": 3,
    }
    assert [user["id"] for user in last["users"]] == [41, 42, 43, 44, 45]
    assert beyond["users"] == []


@pytest.mark.parametrize(("limit", "pages"), [(50, 1), (100, 1), (20, 3)])
def test_allowed_limits(staff: Crm, http: httpx.Client, limit: int, pages: int) -> None:
    body = http.get(f"{API}/users", params={"limit": limit}).json()

    assert body["pagination"]["totalPageCount"] == pages
    assert len(body["users"]) == min(limit, 45)


@pytest.mark.parametrize("params", [{"limit": 10}, {"limit": "all"}, {"page": 0}])
def test_bad_paging_is_refused(
    staff: Crm, http: httpx.Client, params: dict[str, str | int]
) -> None:
    response = http.get(f"{API}/users", params=params)

    assert response.status_code == 400
    assert response.json()["errorMsg"] == "Errors in the input parameters"
    assert set(response.json()["errors"]) == set(params)


def test_filters_combine(staff: Crm, http: httpx.Client) -> None:
    body = http.get(
        f"{API}/users",
        params={"filter[active]": "1", "filter[status]": "busy", "limit": 50},
    ).json()

    expected = [n for n in range(1, 46) if n % 3 == 0 and n % 5 != 0]
    assert [user["id"] for user in body["users"]] == expected
    assert body["pagination"]["totalCount"] == len(expected)


def test_filter_by_admin_group_and_email(staff: Crm, http: httpx.Client) -> None:
    admins = http.get(f"{API}/users", params={"filter[isAdmin]": "true"}).json()["users"]
    leads = http.get(f"{API}/users", params={"filter[groups][]": "lead"}).json()["users"]
    by_email = http.get(f"{API}/users", params={"filter[email]": "M7@shop.test"}).json()["users"]

    assert [user["id"] for user in admins] == [1]
    assert [user["id"] for user in leads] == [1]
    assert [user["id"] for user in by_email] == [7]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter[status]": "away"}, "status"),
        ({"filter[isManager]": "maybe"}, "isManager"),
        ({"filter[createdAtFrom]": "01.02.2026"}, "createdAtFrom"),
        ({"filter[nickname]": "x"}, "filter"),
    ],
)
def test_bad_filters_are_refused(
    staff: Crm, http: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = http.get(f"{API}/users", params=params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_status_change_validates(staff: Crm, http: httpx.Client) -> None:
    unknown_user = http.post(f"{API}/users/999/status", data={"status": "free"})
    bad_status = http.post(f"{API}/users/1/status", data={"status": "away"})
    missing = http.post(f"{API}/users/1/status", data={})

    assert unknown_user.status_code == 404
    assert bad_status.status_code == 400
    assert bad_status.json()["errors"] == {
        "status": "The value you selected is not a valid choice."
    }
    assert missing.json() == {"success": False, "errorMsg": "Parameter 'status' is missing"}
    assert staff.emulator.store.user(1)["status"] == "free"  # type: ignore[index]


def test_customers_by_phone_and_by_id(crm: Crm, http: httpx.Client) -> None:
    manager = crm.emulator.add_user("Анна", "Иванова", "anna@shop.test")
    petr = crm.emulator.add_customer(
        "Пётр", "Сидоров", phones=["+7 916 123-45-67"], manager_id=manager["id"], external_id="c-1"
    )
    crm.emulator.add_customer("Ольга", phones=["+7 903 000-00-00"])

    found = http.get(f"{API}/customers", params={"filter[phone]": "89161234567"}).json()
    by_id = http.get(f"{API}/customers/{petr['id']}", params={"by": "id"}).json()
    by_external = http.get(f"{API}/customers/c-1").json()
    missing = http.get(f"{API}/customers/c-2")

    assert [customer["id"] for customer in found["customers"]] == [petr["id"]]
    assert found["customers"][0]["managerId"] == manager["id"]
    assert found["pagination"]["totalCount"] == 1
    assert by_id["customer"]["phones"] == [{"number": "+7 916 123-45-67"}]
    assert by_external["customer"]["id"] == petr["id"]
    assert missing.status_code == 404
