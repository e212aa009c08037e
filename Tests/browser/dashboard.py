"""The dashboard in a real browser (issue 16): Debian's chromium, headless, driven by selenium, against the real
server. Prints "ok: ..." per check and exits 1 at the first failure; screenshots of each view go to SHOTS.

usage: dashboard.py SOCKPIT_BIN WORKDIR SHOTS
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from served import Served  # noqa: E402
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BIN, WORK, SHOTS = sys.argv[1:4]
os.makedirs(SHOTS, exist_ok=True)


TOKEN = "dashboard-token"
# The stream is cut every 3 s (--sse-max-duration-ms), so the feed's resumption is seen within the test.
server = Served(BIN, f"{WORK}/dashboard-data", f"{WORK}/dashboard-server.log", TOKEN,
                "--sse-max-duration-ms", "3000", "--deny-target", "127.0.0.2/32").start()
ORIGIN = server.url
api = server.api


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--disable-dev-shm-usage"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)


driver = None


def ok(condition, what, detail=""):
    if not condition:
        print(f"FAIL: {what}\n{detail}")
        if driver:
            driver.save_screenshot(f"{SHOTS}/failure.png")
            print("browser console:", driver.get_log("browser"))
        server.stop()
        sys.exit(1)
    print(f"ok: {what}")


def wait(condition, seconds=5):
    return WebDriverWait(driver, seconds, poll_frequency=0.02).until(lambda d: condition())


def requests_seen():
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


try:
    driver = browser()
    # With --token: the prompt first, then data.
    driver.get(f"{ORIGIN}/")
    dialog = driver.find_element(By.ID, "token-dialog")
    wait(lambda: dialog.get_attribute("open") is not None)
    ok(True, "with --token the page asks for the token")
    driver.find_element(By.ID, "token-input").send_keys(TOKEN + "\n")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".card .figure"))
    wait(lambda: "live" in driver.find_element(By.ID, "stream-state").text)
    ok(True, "then the overview shows the server's figures and the stream is live")

    # Sockets: a socket made through the API appears within 1 s, changes state on connect, closes on delete.
    driver.get(f"{ORIGIN}/#/sockets")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#sockets thead"))
    listener = api("/v1/sockets", "POST", {"family": "inet", "type": "stream", "label": "browser"})
    port = api(f"/v1/sockets/{listener['id']}/bind", "POST", {"address": {"host": "127.0.0.1", "port": 0}})["local_address"]["port"]
    api(f"/v1/sockets/{listener['id']}/listen", "POST", {})
    started = time.monotonic()
    made = api("/v1/sockets", "POST", {"family": "inet", "type": "stream", "label": "browser"})
    row = f"#sockets tr[data-id='{made['id']}']"
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, row), 1)
    ok(True, f"a socket created through the API appears in the table in {(time.monotonic() - started) * 1000:.0f} ms (within 1 s)")
    state = lambda: driver.find_element(By.CSS_SELECTOR, f"{row} td.state").text
    api(f"/v1/sockets/{made['id']}/connect", "POST", {"address": {"host": "127.0.0.1", "port": port}})
    wait(lambda: state() == "connected", 1)
    ok(True, "its row changes to connected on connect")
    driver.save_screenshot(f"{SHOTS}/sockets.png")
    api(f"/v1/sockets/{made['id']}", "DELETE")
    wait(lambda: state() == "closed", 1)
    ok(True, "and to closed on delete")

    # Keyboard: a row takes the focus and Enter opens the socket.
    driver.execute_script("document.querySelector(arguments[0]).focus()", row)
    driver.switch_to.active_element.send_keys("\n")
    wait(lambda: driver.current_url.endswith(f"#/sockets/{made['id']}"))
    ok(True, "a focused row opens its socket with Enter")
    # Dark: the same view as a system in dark mode shows it.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    driver.get(f"{ORIGIN}/#/sockets")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, row))
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    ok(background == "rgb(20, 23, 27)", f"in dark mode the page is dark ({background})")
    driver.save_screenshot(f"{SHOTS}/sockets-dark.png")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})

    # Detail: the timeline lists its events.
    driver.get(f"{ORIGIN}/#/sockets/{made['id']}")
    wait(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")) >= 3)
    ops = [r.find_elements(By.TAG_NAME, "td")[1].text for r in driver.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")]
    stored = [e["op"] for e in api(f"/v1/sockets/{made['id']}/events?order=asc")["items"]]
    ok(ops == stored, f"the detail's timeline lists the socket's events {ops}")
    driver.save_screenshot(f"{SHOTS}/socket-detail.png")

    # Actions answer with the problem's detail: 409 (accept on a socket that does not listen), 403 (a denied target).
    idle = api("/v1/sockets", "POST", {"family": "inet", "type": "stream"})
    driver.get(f"{ORIGIN}/#/sockets/{idle['id']}")
    accept = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "form[aria-label='Accept'] button"))[0]
    accept.click()
    problem = lambda: driver.find_element(By.CSS_SELECTOR, "p.problem").text
    wait(lambda: "409" in problem())
    ok("invalid" in problem().lower() or "listen" in problem().lower(), f"a 409 from an action shows the problem: {problem()}")
    connect = driver.find_element(By.CSS_SELECTOR, "form[aria-label='Connect'] input[name='address']")
    connect.send_keys("127.0.0.2:9\n")
    wait(lambda: "403" in problem())
    ok("127.0.0.2" in problem(), f"a 403 from an action shows the problem: {problem()}")
    driver.save_screenshot(f"{SHOTS}/socket-actions.png")

    # Probes from the form: a scan renders its ports and counts as stored; an ICMP probe's chart points are its echoes.
    driver.get(f"{ORIGIN}/#/probes")
    form = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "form[aria-label='Run a probe']"))[0]

    def run_probe(kind, target, **fields):
        form.find_element(By.CSS_SELECTOR, f"select[name='kind'] option[value='{kind}']").click()
        for name in ["target", "ports", "count", "interval_ms", "timeout_ms"]:
            box = form.find_element(By.NAME, name)
            box.clear()
            if name in fields or name == "target":
                box.send_keys(str(fields.get(name, target)))
        before = driver.find_elements(By.ID, "probe-summary")
        form.find_element(By.TAG_NAME, "button").click()
        wait(lambda: driver.find_elements(By.ID, "probe-summary") and driver.find_elements(By.ID, "probe-summary") != before
             and f"{kind} {target}" in driver.find_element(By.ID, "probe-summary").text, 15)
        return api(f"/v1/probes?kind={kind}&target={target}&limit=1")["items"][0]["id"]

    scan_id = run_probe("tcp", "127.0.0.1", ports=f"1-1024,{port}")
    scan = api(f"/v1/probes/{scan_id}")
    shown = {tuple(td.text for td in r.find_elements(By.TAG_NAME, "td"))[:2] for r in driver.find_elements(By.CSS_SELECTOR, "#probe-results tbody tr")}
    ok(shown == {(str(r["port"]), r["state"]) for r in scan["results"]} and (str(port), "open") in shown, f"the scan shows its open ports {sorted(shown)}")
    closed = driver.find_element(By.ID, "closed-ports").text
    ok(closed == f"{scan['closed_ports']['count']:,} closed ports ({scan['closed_ports']['ranges']})" and f"{scan['summary']['open']} open" in driver.find_element(By.ID, "probe-summary").text,
       f"and its counts: {closed}; {driver.find_element(By.ID, 'probe-summary').text}")
    driver.save_screenshot(f"{SHOTS}/probes-scan.png")
    echo_ids = [run_probe("icmp", "127.0.0.1", count=5, interval_ms=20) for _ in range(3)]
    wait(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#smoke-chart .round")) == 3)
    points = sorted(float(c.get_attribute("data-rtt")) for c in driver.find_elements(By.CSS_SELECTOR, "#smoke-chart circle.echo"))
    stored = sorted(r["rtt_ms"] for i in echo_ids for r in api(f"/v1/probes/{i}")["results"] if r.get("rtt_ms") is not None)
    ok(points == stored and len(points) == 15, f"the ICMP chart's points are the stored echoes ({len(points)} round trips, median line, p5-p95 band)")
    ok(len(driver.find_elements(By.CSS_SELECTOR, "#smoke-chart .median")) == 1 and len(driver.find_elements(By.CSS_SELECTOR, "#smoke-chart rect.smoke")) == 3,
       "the chart draws a median line and a band per probe")
    history = driver.find_elements(By.CSS_SELECTOR, "#probe-history-table tbody tr")
    ok(len(history) == 4, f"the target's past probes side by side: {len(history)} rows")
    driver.save_screenshot(f"{SHOTS}/probes-icmp.png")

    # The feed: it shows events as they come and resumes after the server cuts the stream.
    driver.get(f"{ORIGIN}/#/events")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#feed tbody tr"))
    notice = lambda: driver.find_element(By.ID, "feed-notice").text
    wait(lambda: "max-duration" in notice(), 8)
    after_cut = api("/v1/sockets", "POST", {"family": "inet6", "type": "dgram", "label": "after-cut"})
    wait(lambda: driver.find_elements(By.XPATH, f"//table[@id='feed']//td[text()='{after_cut['id']}']"), 5)
    ids = [int(r.get_attribute("data-id")) for r in driver.find_elements(By.CSS_SELECTOR, "#feed tbody tr")]
    ok(len(ids) == len(set(ids)), f"the feed resumed after the stream was cut ({notice()}), no event twice")
    driver.save_screenshot(f"{SHOTS}/events.png")
    # Paused, events are held; resumed, they go on top newest first like the rest.
    pause = driver.find_element(By.CSS_SELECTOR, "button[aria-pressed]")
    pause.click()
    for _ in range(3):
        api("/v1/sockets", "POST", {"family": "inet", "type": "dgram", "label": "held"})
    wait(lambda: "3 new events held" in notice(), 5)
    pause.click()
    wait(lambda: not notice(), 5)
    ids = [int(r.get_attribute("data-id")) for r in driver.find_elements(By.CSS_SELECTOR, "#feed tbody tr")]
    ok(ids[:5] == sorted(ids[:5], reverse=True), f"held events, once resumed, are on top newest first: {ids[:5]}")

    # The two refused actions above log their 409 and 403 as failed loads; nothing else may be an error.
    expected = [f"/v1/sockets/{idle['id']}/accept - Failed to load resource: the server responded with a status of 409",
                f"/v1/sockets/{idle['id']}/connect - Failed to load resource: the server responded with a status of 403"]
    driver.get(f"{ORIGIN}/#/overview")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#by-kind tbody tr"))
    driver.save_screenshot(f"{SHOTS}/overview.png")
    errors = [entry for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in expected)]
    ok(not errors, "no console errors (but the two refusals asked for)", json.dumps(errors, indent=1))
    others = [url for url in requests_seen() if not url.startswith(ORIGIN + "/") and not url.startswith("data:")]
    ok(not others, "no request to another origin", "\n".join(others))
    driver.quit()

    # A wrong token: the page says so, then takes the right one.
    driver = browser()
    driver.get(f"{ORIGIN}/")
    wait(lambda: driver.find_element(By.ID, "token-dialog").get_attribute("open") is not None)
    driver.find_element(By.ID, "token-input").send_keys("wrong\n")
    wait(lambda: "refused" in driver.find_element(By.ID, "token-message").text)
    ok(True, f"a wrong token is refused: {driver.find_element(By.ID, 'token-message').text}")
    field = driver.find_element(By.ID, "token-input")
    field.clear()
    field.send_keys(TOKEN + "\n")
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".card .figure"))
    ok(True, "then the right one brings the data")
    driver.quit()
    driver = None
except TimeoutException as error:
    ok(False, "a wait timed out", repr(error))
finally:
    if driver:
        driver.quit()
    server.stop()
print("dashboard: every check passed")
