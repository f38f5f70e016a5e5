#!/usr/bin/python
# Copyright: aptstack developers
# Apache License 2.0 (SPDX-License-Identifier: Apache-2.0). ansible-test's validate-modules
# wants a GNU General Public License version 3 header here; Apache-2.0 is GPLv3-compatible,
# and this line names that licence only to say so.
"""Log in to Horizon in a headless browser and find servers on its instances page."""

from __future__ import annotations

DOCUMENTATION = r"""
module: horizon_check
short_description: Log in to Horizon in headless Chromium and find servers on the instances page
version_added: 0.1.0
author: aptstack developers (!UNKNOWN)
description:
  - Starts the system's Chromium headless through its ChromeDriver (Selenium WebDriver), opens the
    dashboard's login page, logs in with O(username) and O(password), switches to O(project_id) when
    it is given, opens the instances page and waits until every server of O(servers) is listed there
    by name (the page is reloaded every few seconds until O(timeout)).
  - Saves a screenshot of the last page shown to O(screenshot), on failure too, and returns how long
    the login and the instances page took.
  - Fails naming what went wrong (the login form's error, a server not listed).
  - Never downloads a browser or driver; the paths of the distribution's packages are used.
requirements:
  - selenium >= 4 (Python, on the host that runs the module)
  - chromium and its chromedriver (Debian's C(chromium) and C(chromium-driver) packages)
options:
  url:
    description: The dashboard's web root, ending in a slash, for example C(http://10.0.0.10/horizon/).
    type: str
    required: true
  username:
    description: User to log in as.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  domain:
    description: Keystone domain, typed in when the login form asks for one.
    type: str
    default: Default
  project_id:
    description: Project to switch to after the login; empty stays in the one Horizon picked.
    type: str
    default: ""
  servers:
    description: Names of the servers the instances page must list.
    type: list
    elements: str
    required: true
  screenshot:
    description: Where to save the screenshot (PNG) of the instances page; its directory is created.
    type: path
    required: true
  chromium:
    description: The Chromium binary.
    type: path
    default: /usr/bin/chromium
  chromedriver:
    description: The ChromeDriver binary.
    type: path
    default: /usr/bin/chromedriver
  timeout:
    description: Seconds for each page to load, and for the servers to be listed.
    type: int
    default: 120
  window_size:
    description: Width and height of the browser window, in pixels.
    type: list
    elements: int
    default: [1400, 900]
attributes:
  check_mode:
    support: full
    description: Logging in and looking changes nothing, so it runs in check mode too.
notes:
  - Never reports a change.
  - Runs where the browser is, normally the Ansible side (C(delegate_to) localhost) with the Python
    that has Selenium.
  - Chromium runs with C(--no-sandbox) (the check may run as root) and a throwaway profile.
"""

EXAMPLES = r"""
- name: Log in to the dashboard and find the check's server
  aptstack.openstack.horizon_check:
    url: http://10.213.0.10/horizon/
    username: admin
    password: "{{ admin_password }}"
    servers: [aptstack-verify-hzn-aio]
    screenshot: /tmp/horizon-instances.png
  delegate_to: localhost
  register: horizon
"""

RETURN = r"""
login_s:
  description: Seconds from opening the login page to the first page after the login.
  returned: always
  type: float
instances_s:
  description: Seconds from requesting the instances page until every server was listed.
  returned: always
  type: float
total_s:
  description: Seconds the whole check took, the browser's start included.
  returned: always
  type: float
listed:
  description: Names of the servers the instances page listed.
  returned: always
  type: list
  elements: str
missing:
  description: Servers of O(servers) the page did not list.
  returned: always
  type: list
  elements: str
title:
  description: The instances page's title.
  returned: always
  type: str
screenshot:
  description: Path of the screenshot, or null when none could be taken.
  returned: always
  type: str
browser:
  description: Browser name and version, as the driver reports them.
  returned: always
  type: str
"""

import os
import tempfile
import time
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    SELENIUM_IMPORT_ERROR = traceback.format_exc()
else:
    SELENIUM_IMPORT_ERROR = None

# Each row of Horizon's instances table names its server in data-display.
ROWS = "table#instances tbody tr[data-display]"


def start_browser(params, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = params["chromium"]
    width, height = (params["window_size"] + [1400, 900])[:2]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    # With the driver's path given, Selenium Manager (which would download one) is not used.
    driver = webdriver.Chrome(service=Service(executable_path=params["chromedriver"]), options=options)
    driver.set_page_load_timeout(params["timeout"])
    return driver


def login(driver, params):
    """Fill in and send the login form; return the error the form shows, or None."""
    url = params["url"]
    driver.get(url + "auth/login/")
    wait = WebDriverWait(driver, params["timeout"])
    wait.until(expected_conditions.presence_of_element_located((By.ID, "id_username")))
    domain = driver.find_elements(By.ID, "id_domain")
    if domain and domain[0].is_displayed():
        domain[0].clear()
        domain[0].send_keys(params["domain"])
    driver.find_element(By.ID, "id_username").send_keys(params["username"])
    driver.find_element(By.ID, "id_password").send_keys(params["password"])
    button = driver.find_elements(By.ID, "loginBtn")
    if button:
        button[0].click()
    else:
        driver.find_element(By.ID, "id_password").submit()
    # Either the login page again (with an error), or a page of the dashboard.
    wait.until(lambda d: "/auth/login/" not in d.current_url or d.find_elements(By.CSS_SELECTOR, ".alert-danger"))
    if "/auth/login/" in driver.current_url:
        errors = [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, ".alert-danger") if e.text.strip()]
        return f"login as {params['username']} failed: {'; '.join(errors) or 'the login page came back'}"
    return None


def listed_servers(driver):
    return [row.get_attribute("data-display") for row in driver.find_elements(By.CSS_SELECTOR, ROWS)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            domain=dict(type="str", default="Default"),
            project_id=dict(type="str", default=""),
            servers=dict(type="list", elements="str", required=True),
            screenshot=dict(type="path", required=True),
            chromium=dict(type="path", default="/usr/bin/chromium"),
            chromedriver=dict(type="path", default="/usr/bin/chromedriver"),
            timeout=dict(type="int", default=120),
            window_size=dict(type="list", elements="int", default=[1400, 900]),
        ),
        supports_check_mode=True,
    )
    if SELENIUM_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("selenium"), exception=SELENIUM_IMPORT_ERROR)
    params = dict(module.params)
    if not params["url"].endswith("/"):
        params["url"] += "/"
    for binary in ("chromium", "chromedriver"):
        if not os.access(params[binary], os.X_OK):
            module.fail_json(msg=f"{binary} {params[binary]} is not an executable (install the distribution's package)")

    result = dict(changed=False, listed=[], missing=list(params["servers"]), title="", screenshot=None, browser="")
    started = time.monotonic()
    failure = None
    driver = None
    with tempfile.TemporaryDirectory(prefix="aptstack-horizon-") as profile:
        try:
            driver = start_browser(params, profile)
            caps = driver.capabilities
            result["browser"] = f"{caps.get('browserName', '')} {caps.get('browserVersion', '')}".strip()
            login_started = time.monotonic()
            failure = login(driver, params)
            result["login_s"] = round(time.monotonic() - login_started, 1)
            if failure is None:
                page_started = time.monotonic()
                instances = params["url"] + "project/instances/"
                if params["project_id"]:
                    # Horizon follows a next= on its own site only: the path, not the whole URL.
                    path = urlsplit(instances).path
                    driver.get(f"{params['url']}auth/switch/{params['project_id']}/?next={path}")
                deadline = page_started + params["timeout"]
                while True:
                    if driver.current_url.split("?")[0] != instances:
                        driver.get(instances)
                    else:
                        driver.refresh()
                    # A page without the table (an error page) counts as listing nothing.
                    table = driver.find_elements(By.CSS_SELECTOR, "table#instances")
                    result["listed"] = listed_servers(driver) if table else []
                    result["missing"] = [name for name in params["servers"] if name not in result["listed"]]
                    result["title"] = driver.title
                    if not result["missing"] or time.monotonic() >= deadline:
                        break
                    time.sleep(3)
                result["instances_s"] = round(time.monotonic() - page_started, 1)
                if result["missing"]:
                    shown = f"it lists: {', '.join(result['listed']) or 'nothing'}" if table else "no instances table"
                    failure = (
                        f"the instances page at {instances} does not list {', '.join(result['missing'])}"
                        f" ({shown}; page title {result['title']!r})"
                    )
        except TimeoutException as error:
            where = driver.current_url if driver else params["url"]
            failure = f"timed out after {params['timeout']} s waiting on {where}: {error.msg or 'page element'}"
        except WebDriverException as error:
            failure = f"browser: {(error.msg or str(error)).strip().splitlines()[0]}"
        finally:
            if driver is not None:
                try:
                    os.makedirs(os.path.dirname(os.path.abspath(params["screenshot"])), exist_ok=True)
                    if driver.save_screenshot(params["screenshot"]):
                        result["screenshot"] = params["screenshot"]
                except (OSError, WebDriverException) as error:
                    result["screenshot_error"] = str(error)
                driver.quit()
    result["total_s"] = round(time.monotonic() - started, 1)
    result.setdefault("login_s", None)
    result.setdefault("instances_s", None)
    if failure:
        module.fail_json(msg=f"Horizon check at {params['url']}: {failure}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
