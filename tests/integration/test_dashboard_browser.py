"""The dashboard in a real browser (headless Chromium, tests/integration/browser.py) against a
real server: live rows, the near-miss report, the buttons, text never run as markup, the token.
Screenshots are saved under each test's tmp_path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from mockserver import MockServer

from .. import waiting
from .admin_helpers import Admin, serve, write_stubs
from .browser import chromium, console_problems

TOKEN = "page-token"
STUBS = """
    service: shop
    stubs:
      - id: list-orders
        request: {method: GET, path: /api/orders}
        response: {json: [{id: 1, total: 9.5}]}
      - id: place-order
        request: {method: POST, path: /api/orders, body: {json_subset: {item: book}}}
        response: {status: 201, json: {id: 2}, delay_ms: 20}
      - id: pay
        scenario: {name: checkout, state: started, next: paid}
        request: {method: POST, path: /api/pay}
        response: {json: {paid: true}}
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    with chromium() as browser:
        yield browser


def shop(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"shop.yaml": STUBS})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    """The shop served, its stubs under tmp_path/stubs."""
    with serve(shop(tmp_path)) as running:
        yield running


def done(driver: webdriver.Chrome, tmp_path: Path, name: str) -> None:
    """Keep a screenshot of the page (a CI artifact) and check the console stayed clean."""
    driver.save_screenshot(str(tmp_path / f"{name}.png"))
    assert console_problems(driver) == []


def open_page(driver: webdriver.Chrome, url: str) -> None:
    console_problems(driver)  # what an earlier test left in the log
    driver.get(url + "/__admin/ui")
    live = lambda: driver.find_element(By.ID, "status").text == "live"  # noqa: E731
    waiting.wait_until(live, "the page's live journal to connect", 10)


# Read and clicked in one script each: the table is drawn anew as entries arrive, so an
# element found in one call may be gone by the next.
TABLE = """return [...document.querySelectorAll(arguments[0])]
    .map((tr) => [...tr.cells].map((td) => td.textContent));"""
CLICK = """for (const tr of document.querySelectorAll('#requests tbody tr[data-seq]'))
    if (tr.querySelector('.path').textContent === arguments[0]) { tr.click(); return true; }
  return false;"""


def table(driver: webdriver.Chrome, rows: str) -> list[list[str]]:
    """The text of each cell of the rows the CSS selector ``rows`` picks."""
    found: list[list[str]] = driver.execute_script(TABLE, rows)
    return found


def rows(driver: webdriver.Chrome) -> list[list[str]]:
    """The journal's rows, newest first: time, method, path, status, stub, marks."""
    return table(driver, "#requests tbody tr[data-seq]")


def row_with(driver: webdriver.Chrome, path: str) -> list[str] | None:
    return next((row for row in rows(driver) if row[2] == path), None)


def click_row(driver: webdriver.Chrome, path: str) -> None:
    assert driver.execute_script(CLICK, path), f"no row shows {path}"


def focused(driver: webdriver.Chrome, scenario: str) -> WebElement | None:
    """The scenario's state field, clicked into (None when it was redrawn meanwhile)."""
    try:
        field = driver.find_element(By.CSS_SELECTOR, f'[data-scenario="{scenario}"] input')
        field.click()
    except StaleElementReferenceException:
        return None
    return field


def test_the_page_loads_cleanly_and_a_request_appears_within_a_second(
    driver: webdriver.Chrome, server: MockServer, tmp_path: Path
) -> None:
    open_page(driver, server.url)
    assert rows(driver) == []
    sent = time.monotonic()
    assert requests.get(server.url + "/api/orders", timeout=5).status_code == 200
    row = waiting.wait_until(lambda: row_with(driver, "/api/orders"), "the row", 1.0)
    assert time.monotonic() - sent < 1.0
    assert row[1:5] == ["GET", "/api/orders", "200", "list-orders"]
    requests.post(server.url + "/api/orders", json={"item": "book"}, timeout=5)
    waiting.wait_until(lambda: len(rows(driver)) == 2, "the POST's row", 5)
    placed = lambda: rows(driver)[0][1:6] == ["POST", "/api/orders", "201", "place-order", "delay"]  # noqa: E731
    waiting.wait_until(placed, "the POST first, marked for its stub's delay_ms", 5)

    def placed_stub() -> bool:
        shown = {cells[0]: cells[1:] for cells in table(driver, "#stubs tbody tr")}
        return shown.get("place-order") == ["shop", "file", f"{tmp_path}/stubs/shop.yaml:6", "1"]

    # Its file and line, its hit (the panels follow the journal every two seconds).
    waiting.wait_until(placed_stub, "the stub's source file, line and hit", 6)
    done(driver, tmp_path, "live")


def test_an_unmatched_request_shows_its_nearest_stub_and_first_difference(
    driver: webdriver.Chrome, server: MockServer, tmp_path: Path
) -> None:
    open_page(driver, server.url)
    answer = requests.get(server.url + "/api/orderz", timeout=5)
    assert answer.status_code == 404
    report = answer.json()["nearest"]
    row = waiting.wait_until(lambda: row_with(driver, "/api/orderz"), "the unmatched row", 5)
    assert row[4] == "unmatched"
    click_row(driver, "/api/orderz")
    nearest = lambda: driver.find_elements(By.CSS_SELECTOR, "#detail .near")  # noqa: E731
    shown = waiting.wait_until(nearest, "the near-miss report", 5)
    # The same content as the 404 body: the stubs in its order, each one's first difference.
    assert [n.find_element(By.CSS_SELECTOR, ".near-stub").text for n in shown] == [
        near["stub"] for near in report
    ]
    first = report[0]["first_difference"]
    difference = shown[0].find_element(By.CSS_SELECTOR, ".difference").text
    assert f"{first['field']}: {first['why']}" in difference
    assert first["actual"] in difference
    done(driver, tmp_path, "near-miss")


def test_the_filters_pick_rows_by_matched_status_and_text(
    driver: webdriver.Chrome, server: MockServer, tmp_path: Path
) -> None:
    for path in ("/api/orders", "/api/orderz", "/elsewhere"):
        requests.get(server.url + path, timeout=5)
    open_page(driver, server.url)
    waiting.wait_until(lambda: len(rows(driver)) == 3, "the three rows", 5)
    shown = lambda: [row[2] for row in rows(driver)]  # noqa: E731
    Select(driver.find_element(By.ID, "f-matched")).select_by_value("unmatched")
    waiting.wait_until(lambda: shown() == ["/elsewhere", "/api/orderz"], "the unmatched", 5)
    driver.find_element(By.ID, "f-text").send_keys("ORDER")
    waiting.wait_until(lambda: shown() == ["/api/orderz"], "unmatched, with order in it", 5)
    Select(driver.find_element(By.ID, "f-matched")).select_by_value("")
    Select(driver.find_element(By.ID, "f-status")).select_by_value("2")
    waiting.wait_until(lambda: shown() == ["/api/orders"], "2xx with order in it", 5)
    Select(driver.find_element(By.ID, "f-service")).select_by_value("shop")
    assert shown() == ["/api/orders"]
    done(driver, tmp_path, "filters")


def test_reset_clear_and_a_scenario_state_from_the_page(
    driver: webdriver.Chrome, server: MockServer, tmp_path: Path
) -> None:
    for path in ("/api/orders", "/missing"):
        requests.get(server.url + path, timeout=5)
    open_page(driver, server.url)
    waiting.wait_until(lambda: len(rows(driver)) == 2, "the journal's rows", 5)
    driver.find_element(By.ID, "reset").click()
    waiting.wait_until(lambda: rows(driver) == [], "the journal emptied by reset", 5)
    with Admin(server.url) as admin:
        assert admin.ok("GET", "/requests")["total"] == 0
        requests.get(server.url + "/api/orders", timeout=5)
        waiting.wait_until(lambda: len(rows(driver)) == 1, "a row after the reset", 5)
        driver.find_element(By.ID, "clear").click()
        waiting.wait_until(lambda: rows(driver) == [], "the journal cleared", 5)
        # Once the field has the focus the panel keeps it (it is redrawn as requests come).
        field = waiting.wait_until(lambda: focused(driver, "checkout"), "the state's field", 5)
        field.clear()
        field.send_keys("paid")
        driver.find_element(By.CSS_SELECTOR, '[data-scenario="checkout"] button').click()
        moved = lambda: admin.ok("GET", "/scenarios")["scenarios"][0]["state"] == "paid"  # noqa: E731
        waiting.wait_until(moved, "the scenario moved by the page", 5)
    done(driver, tmp_path, "after-reset")


def test_markup_in_a_request_is_shown_as_text_and_never_runs(
    driver: webdriver.Chrome, server: MockServer, tmp_path: Path
) -> None:
    open_page(driver, server.url)
    path = "/<script>window.__pwned=1</script>"
    requests.post(
        server.url + path,
        headers={"X-Note": "<img src=x onerror=window.__pwned=2>"},
        data="<svg onload=window.__pwned=3>",
        timeout=5,
    )
    row = waiting.wait_until(lambda: row_with(driver, path), "the row with markup", 5)
    assert row[2] == path  # as text
    click_row(driver, path)
    detail = lambda: driver.find_element(By.ID, "detail").text  # noqa: E731
    waiting.wait_until(lambda: "<svg onload=window.__pwned=3>" in detail(), "the body", 5)
    assert "<img src=x onerror=window.__pwned=2>" in detail()
    assert path in driver.find_element(By.CSS_SELECTOR, "#detail h2").text
    assert driver.execute_script("return window.__pwned") is None
    assert driver.find_elements(By.CSS_SELECTOR, "#requests script, #detail img, #detail svg") == []
    done(driver, tmp_path, "markup")


def test_with_a_token_the_page_asks_for_it_then_works(
    driver: webdriver.Chrome, tmp_path: Path
) -> None:
    with serve(shop(tmp_path), admin_token=TOKEN) as server:
        console_problems(driver)
        driver.get(server.url + "/__admin/ui")
        form = driver.find_element(By.ID, "token-form")
        waiting.wait_until(form.is_displayed, "the page to ask for the token", 5)
        driver.save_screenshot(str(tmp_path / "token.png"))
        driver.find_element(By.ID, "token-input").send_keys("wrong")
        form.find_element(By.TAG_NAME, "button").click()
        error = lambda: driver.find_element(By.ID, "token-error").text  # noqa: E731
        waiting.wait_until(lambda: "refused" in error() and form.is_displayed(), "a retry", 5)
        driver.find_element(By.ID, "token-input").send_keys(TOKEN)
        form.find_element(By.TAG_NAME, "button").click()
        live = lambda: driver.find_element(By.ID, "status").text == "live"  # noqa: E731
        waiting.wait_until(live, "the live journal with the token", 5)
        requests.get(server.url + "/api/orders", timeout=5)
        waiting.wait_until(lambda: row_with(driver, "/api/orders"), "a row with the token", 5)
        assert TOKEN not in driver.current_url
        stored = driver.execute_script("return sessionStorage.getItem('mockserver.adminToken')")
        assert stored == TOKEN
        driver.refresh()  # asked once: the tab keeps it
        waiting.wait_until(live, "the live journal after a reload of the page", 5)
        assert not driver.find_element(By.ID, "token-form").is_displayed()
        problems = console_problems(driver)
        # The refused calls before the token was given are the only errors.
        assert all("401" in p["message"] for p in problems), problems
