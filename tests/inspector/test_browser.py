"""End to end in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium).

The browser may reach only the loopback server: every other host name fails to resolve, so a page
that needed a CDN would visibly break here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from twilio.rest import Client

from tests.conftest import Account, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
T = TypeVar("T")

if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium and chromium-driver (see .ci/run)")
    pytest.skip(
        "needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile that can reach nothing but 127.0.0.1."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1600,1200",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], T], timeout: float = 30) -> T:
    """Poll the page until `condition` returns something truthy (the browser works asynchronously).

    The page re-renders a table when its data changes, so an element found a moment ago may be
    gone: such a poll just counts as "not yet".
    """
    waiter = WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    )
    result: T = waiter.until(condition)
    return result


def click(driver: WebDriver, css: str) -> WebElement:
    """Click the element matching `css` once it is there, and return it."""

    def clicked(d: WebDriver) -> WebElement | None:
        element = find(d, css)
        if element is not None:
            element.click()
        return element

    return wait_for(driver, clicked)


def choose(driver: WebDriver, css: str, visible_text: str) -> None:
    """Pick an option of the drop-down matching `css` once it is there."""

    def chosen(d: WebDriver) -> bool:
        element = find(d, css)
        if element is None:
            return False
        Select(element).select_by_visible_text(visible_text)
        return True

    wait_for(driver, chosen)


def find(driver: WebDriver, css: str) -> WebElement | None:
    """Return the first element matching `css`, or None."""
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found else None


def text_of(driver: WebDriver, css: str) -> str | None:
    """Return the text of the first element matching `css`, or None."""
    element = find(driver, css)
    return element.text if element is not None else None


def log_in(driver: WebDriver, server: LiveServer, account: Account, workspace_sid: str) -> None:
    """Open the inspector on a workspace and log in with the account's credentials."""
    driver.get(f"{server.url}/#{workspace_sid}")
    wait_for(driver, lambda d: d.current_url.startswith(f"{server.url}/emulator/ui"))
    wait_for(driver, lambda d: find(d, "#login-panel:not([hidden]) #account-sid"))
    driver.find_element(By.ID, "account-sid").send_keys(account.sid)
    driver.find_element(By.ID, "auth-token").send_keys(account.token)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, lambda d: find(d, "#inspector:not([hidden])"))
    wait_for(
        driver,
        lambda d: (
            Select(d.find_element(By.ID, "workspace")).first_selected_option.get_attribute("value")
            == workspace_sid
        ),
    )


def build_workspace(client: Client) -> tuple[Any, Any, Any, dict[str, str]]:
    """Create, through twilio-python, a workspace with one queue, one workflow and one worker."""
    ws = client.taskrouter.v1.workspaces.create(friendly_name="Browser test")
    api = client.taskrouter.v1.workspaces(ws.sid)
    activities = {a.friendly_name: a.sid for a in api.activities.list()}
    queue = api.task_queues.create(friendly_name="Support", target_workers="skills HAS 'support'")
    workflow = api.workflows.create(
        friendly_name="Support flow",
        configuration=json.dumps(
            {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
        ),
    )
    worker = api.workers.create(
        friendly_name="Alice",
        attributes=json.dumps({"skills": ["support"]}),
        activity_sid=activities["Available"],
    )
    return ws, workflow, worker, activities


def test_accepting_a_reservation_in_the_browser_assigns_the_task(
    browser: WebDriver, live_server: LiveServer, account: Account, client: Client
) -> None:
    ws, workflow, worker, _activities = build_workspace(client)
    api = client.taskrouter.v1.workspaces(ws.sid)
    log_in(browser, live_server, account, ws.sid)

    worker_row = f'#workers tr[data-worker-sid="{worker.sid}"]'
    wait_for(browser, lambda d: text_of(d, f"{worker_row} .name") == "Alice")
    assert text_of(browser, f"{worker_row} .activity-name") == "Available"
    assert text_of(browser, f'{worker_row} [data-channel="default"]') == "default 0/1"

    task = api.tasks.create(workflow_sid=workflow.sid, attributes=json.dumps({"topic": "billing"}))
    reservation = api.tasks(task.sid).reservations.list()[0]
    assert reservation.reservation_status == "pending"
    # The live feed shows the new events and the page refreshes itself: no reload, no click.
    wait_for(browser, lambda d: find(d, '#events li[data-event-type="reservation.created"]'))
    wait_for(
        browser,
        lambda d: text_of(d, f'#tasks tr[data-task-sid="{task.sid}"] .status') == "reserved",
    )
    click(browser, f'button[data-action="accept"][data-reservation-sid="{reservation.sid}"]')

    wait_for(
        browser,
        lambda d: text_of(d, f'#tasks tr[data-task-sid="{task.sid}"] .status') == "assigned",
    )
    wait_for(
        browser,
        lambda d: (
            text_of(d, f'#reservations tr[data-reservation-sid="{reservation.sid}"] .status')
            == "accepted"
        ),
    )
    wait_for(
        browser, lambda d: text_of(d, f'{worker_row} [data-channel="default"]') == "default 1/1"
    )
    wait_for(browser, lambda d: find(d, '#events li[data-event-type="reservation.accepted"]'))
    assert api.tasks(task.sid).fetch().assignment_status == "assigned"
    assert (
        api.tasks(task.sid).reservations(reservation.sid).fetch().reservation_status == "accepted"
    )


def test_inspector_buttons_drive_workers_tasks_and_the_clock(
    browser: WebDriver, live_server: LiveServer, account: Account, client: Client
) -> None:
    ws, workflow, worker, activities = build_workspace(client)
    api = client.taskrouter.v1.workspaces(ws.sid)
    log_in(browser, live_server, account, ws.sid)
    worker_row = f'#workers tr[data-worker-sid="{worker.sid}"]'
    wait_for(browser, lambda d: find(d, worker_row))

    # Change the worker's activity from the drop-down.
    choose(browser, f"{worker_row} select[data-role=activity]", "Offline")
    wait_for(browser, lambda d: text_of(d, f"{worker_row} .activity-name") == "Offline")
    assert api.workers(worker.sid).fetch().activity_sid == activities["Offline"]

    # Create a task from the form: nobody is available, so it waits in the queue.
    browser.find_element(By.CSS_SELECTOR, "#create-task-panel summary").click()
    Select(browser.find_element(By.ID, "task-workflow")).select_by_value(workflow.sid)
    attributes = browser.find_element(By.ID, "task-attributes")
    attributes.clear()
    attributes.send_keys('{"topic": "refund"}')
    browser.find_element(By.ID, "task-priority").send_keys("7")
    browser.find_element(By.ID, "create-task-submit").click()
    tasks = wait_for(browser, lambda d: api.tasks.list())
    task = tasks[0]
    assert task.priority == 7
    assert json.loads(task.attributes) == {"topic": "refund"}
    queue_row = f'#queues tr[data-queue-sid="{task.task_queue_sid}"]'
    wait_for(browser, lambda d: text_of(d, f"{queue_row} .waiting") == "1")

    # Advance the clock: the waiting task ages by that much.
    before = httpx.get(
        f"{live_server.url}/emulator/clock", auth=(account.sid, account.token)
    ).json()
    advance = browser.find_element(By.ID, "advance-seconds")
    advance.clear()
    advance.send_keys("125")
    browser.find_element(By.ID, "advance").click()
    wait_for(browser, lambda d: text_of(d, f"{queue_row} .oldest") == "2m 05s")
    after = httpx.get(f"{live_server.url}/emulator/clock", auth=(account.sid, account.token)).json()
    assert after["epoch_ms"] - before["epoch_ms"] == 125_000
    wait_for(browser, lambda d: text_of(d, "#clock-now") == after["now"])

    # Back to Available: the task is offered; reject it with the button, then cancel the task.
    choose(browser, f"{worker_row} select[data-role=activity]", "Available")
    wait_for(browser, lambda d: api.tasks(task.sid).reservations.list())
    [reservation] = api.tasks(task.sid).reservations.list()
    click(browser, f'button[data-action="reject"][data-reservation-sid="{reservation.sid}"]')
    reservation_sid = reservation.sid
    wait_for(
        browser,
        lambda d: (
            api.tasks(task.sid).reservations(reservation_sid).fetch().reservation_status
            == "rejected"
        ),
    )
    click(browser, f'button[data-action="canceled"][data-task-sid="{task.sid}"]')
    wait_for(
        browser,
        lambda d: text_of(d, f'#tasks tr[data-task-sid="{task.sid}"] .status') == "canceled",
    )
    assert api.tasks(task.sid).fetch().assignment_status == "canceled"


def test_completing_a_task_and_a_failed_action_show_in_the_page(
    browser: WebDriver, live_server: LiveServer, account: Account, client: Client
) -> None:
    ws, workflow, _worker, _activities = build_workspace(client)
    api = client.taskrouter.v1.workspaces(ws.sid)
    task = api.tasks.create(workflow_sid=workflow.sid, attributes="{}")
    reservation = api.tasks(task.sid).reservations.list()[0]
    api.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
    log_in(browser, live_server, account, ws.sid)

    click(browser, f'button[data-action="completed"][data-task-sid="{task.sid}"]')
    wait_for(
        browser,
        lambda d: text_of(d, f'#tasks tr[data-task-sid="{task.sid}"] .status') == "completed",
    )
    fetched = api.tasks(task.sid).fetch()
    assert fetched.assignment_status == "completed"
    assert fetched.reason == "completed in the inspector"

    # An action the API refuses shows Twilio's message; nothing changes.
    browser.find_element(By.CSS_SELECTOR, "#create-task-panel summary").click()
    attributes = browser.find_element(By.ID, "task-attributes")
    attributes.clear()
    attributes.send_keys("[1, 2]")
    browser.find_element(By.ID, "create-task-submit").click()
    wait_for(browser, lambda d: "error" in (find(d, "#message").get_attribute("class") or ""))
    assert "20001" in text_of(browser, "#message")
    assert len(api.tasks.list()) == 1


def test_wrong_token_is_refused_and_logging_out_forgets_the_credentials(
    browser: WebDriver, live_server: LiveServer, account: Account, client: Client
) -> None:
    ws, _workflow, _worker, _activities = build_workspace(client)
    browser.get(f"{live_server.url}/emulator/ui")
    wait_for(browser, lambda d: find(d, "#login-panel:not([hidden]) #account-sid"))
    browser.find_element(By.ID, "account-sid").send_keys(account.sid)
    browser.find_element(By.ID, "auth-token").send_keys("not-the-token")
    browser.find_element(By.ID, "login-submit").click()
    wait_for(browser, lambda d: "Not authorised" in (text_of(d, "#message") or ""))
    assert "(20003)" in (text_of(browser, "#message") or "")
    assert find(browser, "#inspector[hidden]")

    log_in(browser, live_server, account, ws.sid)
    browser.refresh()  # credentials survive a reload of the tab
    wait_for(browser, lambda d: find(d, "#inspector:not([hidden])"))
    browser.find_element(By.ID, "logout").click()
    wait_for(browser, lambda d: find(d, "#login-panel:not([hidden])"))
    assert browser.execute_script("return sessionStorage.length") == 0


def test_docs_render_offline(browser: WebDriver, live_server: LiveServer) -> None:
    browser.get(f"{live_server.url}/emulator/docs")
    title = wait_for(browser, lambda d: find(d, ".swagger-ui .info .title"))
    assert "taskrouter-emulator" in title.text
    wait_for(browser, lambda d: find(d, '.opblock-summary-path[data-path="/emulator/ui/events"]'))
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources
    assert all(name.startswith(live_server.url) for name in resources), resources
