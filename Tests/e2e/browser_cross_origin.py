"""A page served from another origin cannot drive the API through the browser that opens it (issue 18).

Starts a page server on 127.0.0.1:PAGE_PORT whose page, opened in headless Chromium, tries every way a page
can reach Sockpit at 127.0.0.1:API_PORT without a CORS grant: a no-cors POST with a text/plain body (a "simple"
request, no preflight), a no-cors POST declared application/json (the browser downgrades it to text/plain), a
cors-mode POST with JSON (preflighted), a form submitted to the API, and a probe the same ways. Then asks the
API itself (as curl would, no Origin) whether anything was created. Usage: browser_cross_origin.py API_PORT
Exit 0: nothing was created; 1: something was; 77: no browser here (skipped).
"""
import http.server
import json
import shutil
import socketserver
import sys
import threading
import urllib.request

api_port = int(sys.argv[1])
API = f"http://127.0.0.1:{api_port}"

PAGE = """<!doctype html><html><body>
<form id="f" method="POST" action="%(api)s/v1/sockets" enctype="text/plain" target="sink">
<input name='{"family":"inet","type":"stream","label":"form","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
const api = "%(api)s";
const socket = JSON.stringify({family: "inet", type: "stream", label: "page"});
const probe = JSON.stringify({kind: "tcp", target: "127.0.0.1", ports: "%(port)d"});
async function attempt(name, url, init) {
  try { const r = await fetch(url, init); return name + ":" + r.type + ":" + r.status; }
  catch (e) { return name + ":blocked"; }
}
window.results = Promise.all([
  attempt("nocors-text", api + "/v1/sockets", {method: "POST", mode: "no-cors", body: socket}),
  attempt("nocors-json", api + "/v1/sockets", {method: "POST", mode: "no-cors", body: socket, headers: {"Content-Type": "application/json"}}),
  attempt("nocors-blob", api + "/v1/sockets", {method: "POST", mode: "no-cors", body: new Blob([socket])}),
  attempt("cors-json", api + "/v1/sockets", {method: "POST", mode: "cors", body: socket, headers: {"Content-Type": "application/json"}}),
  attempt("nocors-probe", api + "/v1/probes", {method: "POST", mode: "no-cors", body: probe}),
  attempt("cors-probe", api + "/v1/probes", {method: "POST", mode: "cors", body: probe, headers: {"Content-Type": "application/json"}}),
  attempt("cors-read", api + "/v1/sockets", {mode: "cors"}),
]).then(r => { document.getElementById("f").submit(); return r; });
</script></body></html>"""


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (PAGE % {"api": API, "port": api_port}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def created():
    with urllib.request.urlopen(API + "/v1/sockets?limit=1000") as answer:
        sockets = json.load(answer)["items"]
    with urllib.request.urlopen(API + "/v1/probes?limit=1000") as answer:
        probes = json.load(answer)["items"]
    return len(sockets), len(probes)


driver_path = shutil.which("chromedriver")
browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    driver_path = None
if not driver_path or not browser_path:
    print("skipped: headless Chromium (chromium, chromium-driver, selenium) is not installed")
    sys.exit(77)

server = socketserver.TCPServer(("127.0.0.1", 0), Page)
page_port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
before = created()
options = webdriver.ChromeOptions()
options.binary_location = browser_path
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-proxy-server"]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service(driver_path), options=options)
try:
    driver.set_script_timeout(20)
    driver.get(f"http://127.0.0.1:{page_port}/")
    results = driver.execute_async_script("const done = arguments[0]; window.results.then(done, e => done(String(e)));")
    # The form posts into the iframe; give it its answer before counting.
    driver.execute_async_script("const done = arguments[0]; setTimeout(done, 500);")
finally:
    driver.quit()
    server.shutdown()
after = created()
print(f"figure: page on 127.0.0.1:{page_port} -> API on 127.0.0.1:{api_port}: {results}; "
      f"sockets {before[0]} -> {after[0]}, probes {before[1]} -> {after[1]}")
sys.exit(0 if after == before else 1)
