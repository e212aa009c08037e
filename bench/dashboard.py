#!/usr/bin/env python3
"""The dashboard's figures for bench/dashboard.sh: first render of each view, then a steady load of events with the
sockets table open. usage: dashboard.py BASE_URL RATE SECONDS"""
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, RATE, SECONDS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HOST = urllib.parse.urlparse(BASE)
verdicts = []


def connection():
    return http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)


def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    return json.loads(data) if data else None


def verdict(ok, text):
    verdicts.append(ok)
    print(f"{'PASS' if ok else 'MISS'}  {text}")


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--disable-dev-shm-usage"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)

# Baseline: the API requests a first render makes, timed alone (median of 5).
conn = connection()
for path in ["/v1/stats", "/v1/sockets?limit=50", "/v1/events?limit=100"]:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        call(conn, "GET", path)
        times.append((time.perf_counter() - started) * 1000)
    print(f"baseline  GET {path:<24} {statistics.median(times):7.1f} ms (median of 5, keep-alive)")

# First render: navigation start to the view drawn (the page's performance mark), cold each time.
for view, ready in [("overview", ".card"), ("sockets", "#sockets tbody tr"), ("events", "#feed tbody tr")]:
    renders = []
    for _ in range(3):
        driver.get("about:blank")
        driver.get(f"{BASE}/#/{view}")
        WebDriverWait(driver, 30, poll_frequency=0.01).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready))
        mark = driver.execute_script("const m = performance.getEntriesByName('sockpit:view-rendered'); return m.length ? m[0].startTime : null")
        renders.append(mark)
        if mark > 1000:  # say where the time went: every request of the load, by when it started and how long it took
            for entry in driver.execute_script("return performance.getEntriesByType('resource').map(e => [e.name, e.startTime, e.duration])"):
                print(f"          slow render: {entry[0]} started {entry[1]:.0f} ms, took {entry[2]:.0f} ms")
    median = statistics.median(renders)
    verdict(median < 1000, f"first render of {view:<8} {median:7.1f} ms (median of 3: {', '.join(f'{r:.0f}' for r in renders)}; target < 1000 ms)")

# The load: RATE events/s for SECONDS s with the sockets table open. Each lifecycle is 3 events (create, send, close),
# paced over 4 threads with keep-alive connections.
driver.get(f"{BASE}/#/sockets")
WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sockets tbody tr"))
driver.execute_script("""
  window.__longtasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push(e.duration); })
    .observe({ type: "longtask", buffered: false });
""")
# The observer is checked first: a 120 ms busy task must show up in it (then the record starts empty).
driver.execute_script("setTimeout(() => { const end = performance.now() + 120; while (performance.now() < end) {} }, 0)")
time.sleep(0.5)
seen = driver.execute_script("return window.__longtasks.splice(0)")
verdict(any(d >= 100 for d in seen), f"the longtask observer sees a 120 ms task ({', '.join(f'{d:.0f}' for d in seen)} ms)")
made = [0]
lock = threading.Lock()
stop_at = time.monotonic() + SECONDS


def worker(index, threads):
    c = connection()
    interval = 3 * threads / RATE
    next_at = time.monotonic() + index * interval / threads
    while True:
        now = time.monotonic()
        if now >= stop_at:
            return
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        s = call(c, "POST", "/v1/sockets", {"family": "inet", "type": "dgram", "label": "bench"})
        call(c, "POST", f"/v1/sockets/{s['id']}/send", {"data": "x", "to": {"host": "127.0.0.1", "port": 9}})
        call(c, "DELETE", f"/v1/sockets/{s['id']}")
        with lock:
            made[0] += 3


threads = [threading.Thread(target=worker, args=(i, 4)) for i in range(4)]
started = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - started
rate = made[0] / elapsed
print(f"load      {made[0]} events in {elapsed:.1f} s = {rate:.0f} events/s (target {RATE})")

# Keeping up: within 5 s of the load's end the table's first rows are the API's first page (ids and states).
conn = connection()  # the baseline's connection sat idle through the load
page = call(conn, "GET", "/v1/sockets?limit=50")["items"]
expected = [(s["id"], s["state"]) for s in page]
caught_up = None
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    rows = driver.execute_script("return [...document.querySelectorAll('#sockets tbody tr')].slice(0, 50).map(r => [r.dataset.id, r.querySelector('td.state').textContent])")
    if [tuple(r) for r in rows] == expected:
        caught_up = time.monotonic() - deadline + 5
        break
    time.sleep(0.05)
verdict(caught_up is not None, f"the table equals the API's first page {'%.2f s after the load' % caught_up if caught_up is not None else 'NOT within 5 s'}")
longest = driver.execute_script("return window.__longtasks.length ? Math.max(...window.__longtasks) : 0")
count = driver.execute_script("return window.__longtasks.length")
verdict(longest <= 200, f"longest main-thread task {longest:.0f} ms ({count} tasks over 50 ms; target none over 200 ms)")
nodes = driver.execute_script("return document.getElementsByTagName('*').length")
rows = driver.execute_script("return document.querySelectorAll('#sockets tbody tr').length")
verdict(rows <= 1000 and nodes < 20000, f"DOM bounded: {rows} table rows (cap 1000), {nodes} elements")
heap = driver.execute_script("return performance.memory ? performance.memory.usedJSHeapSize : 0")
print(f"figure    JS heap {heap / 1048576:.1f} MiB at the end")
driver.quit()
print(f"dashboard: {sum(verdicts)} of {len(verdicts)} targets held")
