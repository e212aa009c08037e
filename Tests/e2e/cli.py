"""The `sockpit` client commands against the real server (issue 17): the README's TCP conversation with `sockpit
socket ...` commands, `probe tcp` against the API's own answer, `--json` equal to the API's JSON, `events --follow`
across a server restart, and the exit statuses (1 problem with its detail, 1 "unauthorized", 2 usage, 3 no server).

usage: cli.py SOCKPIT_BIN WORKDIR     (prints "ok: ..." per check; exits 1 at the first failure)
"""
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

from served import Served, free_port

BIN, WORK = sys.argv[1], sys.argv[2]


TOKEN = "cli-token"
server = Served(BIN, f"{WORK}/cli-data", f"{WORK}/cli-server.log", TOKEN)
URL = server.url
ENV = dict(os.environ, SOCKPIT_URL=URL, SOCKPIT_TOKEN=TOKEN)
api = server.api


def cli(*args, env=ENV):
    done = subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=60)
    return done.returncode, done.stdout, done.stderr


def ok(condition, what, detail=""):
    if not condition:
        print(f"FAIL: {what}\n{detail}")
        server.stop()
        sys.exit(1)
    print(f"ok: {what}")


def run_ok(*args):
    rc, out, err = cli(*args)
    ok(rc == 0, "sockpit " + " ".join(args), f"rc={rc}\nstdout: {out}\nstderr: {err}")
    return out


server.start()
try:
    # The README's TCP conversation, with `sockpit socket ...` commands (ids read from --json).
    L = json.loads(run_ok("sockets", "create", "--family", "inet", "--type", "stream", "--label", "cli", "--json"))["id"]
    out = run_ok("socket", L, "bind", "127.0.0.1:0")
    port = api(f"/v1/sockets/{L}")["local_address"]["port"]
    ok(f"127.0.0.1:{port}" in out and "bound" in out, "bind prints the state and the bound address", out)
    ok("listening" in run_ok("socket", L, "listen", "--backlog", "16"), "listen")
    C = json.loads(run_ok("sockets", "create", "--family", "inet", "--type", "stream", "--json"))["id"]
    ok("connected" in run_ok("socket", C, "connect", f"localhost:{port}"), "connect")
    A = json.loads(run_ok("socket", L, "accept", "--timeout-ms", "1000", "--json"))["id"]
    ok(run_ok("socket", C, "send", "hello").strip() == "sent 5 bytes", "send hello")
    ok(run_ok("socket", A, "receive", "--max-bytes", "100", "--timeout-ms", "1000").strip() == "hello", "receive prints hello")
    ok("write_shutdown" in run_ok("socket", C, "shutdown", "write"), "shutdown write")
    ok("end of stream" in run_ok("socket", A, "receive", "--timeout-ms", "1000"), "receive says end of stream")
    out = run_ok("socket", A, "options")
    ok("tcp_info.state" in out and "so_rcvbuf" in out, "options show tcp_info", out)
    ok("tcp_nodelay  true" in run_ok("socket", C, "options", "--set", "tcp_nodelay=true").replace("  ", " ").replace(" true", "  true") or
       api(f"/v1/sockets/{C}/options")["tcp_nodelay"] is True, "options --set tcp_nodelay=true")
    ops = [line.split()[2] for line in run_ok("events", "--socket", C).splitlines()]
    ok(ops == ["create", "connect", "send", "shutdown", "setsockopt"], f"events --socket: the talker's history {ops}")
    out = run_ok("sockets", "close", A)
    ok(api(f"/v1/sockets/{A}")["state"] == "closed", "sockets close")

    # --json is the API's JSON.
    ok(json.loads(run_ok("sockets", "show", C, "--json")) == api(f"/v1/sockets/{C}"), "sockets show --json equals GET /v1/sockets/{id}")
    ok(json.loads(run_ok("sockets", "list", "--label", "cli", "--json")) == api("/v1/sockets?label=cli"), "sockets list --json equals GET /v1/sockets")
    ok(json.loads(run_ok("events", "--limit", "7", "--json")) == api("/v1/events?limit=7"), "events --json equals GET /v1/events")

    # probe tcp against the API's answer of the same probe.
    out = run_ok("probe", "tcp", f"127.0.0.1:1-1024,{port}")
    probe_id = out.strip().splitlines()[-1].rsplit("[", 1)[1].rstrip("]")
    stored = api(f"/v1/probes/{probe_id}")
    rows = [line.split() for line in out.splitlines()[1:] if line.split() and line.split()[0].isdigit() and "ports" not in line]
    printed, answered = {int(r[0]): r[1] for r in rows}, {r["port"]: r["state"] for r in stored["results"]}
    ok(printed == answered, "probe tcp rows equal the API's results", f"{out}\nprinted {printed}\nanswered {answered}")
    ok(f"{stored['closed_ports']['count']} closed ports ({stored['closed_ports']['ranges']})" in out, "probe tcp closed ports equal the API's", out)
    ok(f"{stored['summary']['open']} open, {stored['summary']['closed']} closed" in out and stored["outcome"] in out, "probe tcp summary equals the API's", out)
    probe_json = json.loads(run_ok("probe", "tcp", f"127.0.0.1:{port}", "--json"))
    ok(probe_json == api(f"/v1/probes/{probe_json['id']}"), "probe tcp --json equals GET /v1/probes/{id}")
    out = run_ok("probe", "icmp", "127.0.0.1", "-c", "3", "-i", "50")
    ok(out.count(" reply ") == 3 and "3 sent, 3 received, 0% loss" in out, "probe icmp -c 3", out)

    # Exit statuses.
    rc, out, err = cli("socket", "sk_nosuch", "bind", "127.0.0.1:0")
    ok(rc == 1 and "no socket with id 'sk_nosuch'" in err and "404" in err, "a server problem exits 1 with its detail on stderr", err)
    rc, out, err = cli("sockets", "list", "--token", "wrong")
    ok(rc == 1 and "unauthorized" in err, "a wrong token exits 1 with 'unauthorized'", err)
    rc, out, err = cli("sockets", "create", "--family", "inet")
    ok(rc == 2 and "--type" in err, "a missing option exits 2 with usage", err)
    rc, out, err = cli("socket", C, "connect", "127.0.0.1:99999")
    ok(rc == 2 and "99999" in err, "a bad address exits 2", err)
    rc, out, err = cli("stats", "--server", f"http://127.0.0.1:{free_port()}")
    ok(rc == 3 and "cannot reach the server" in err, "no server exits 3", err)
    rc, out, err = cli("--help")
    ok(rc == 0 and all(word in out for word in ["serve", "sockets", "socket", "probe", "events", "stats", "Exit status"]), "sockpit --help lists the commands", out)
    rc, out, err = cli("--generate-completion-script", "bash")
    ok(rc == 0 and "sockets" in out and "complete" in out, "bash completions")

    # The README's block, verbatim, with this server and this binary.
    text = open("README.md").read()
    block = re.findall(r"```sh\n(.*?)```", text[text.index("The same conversation with the `sockpit` command-line client"):], re.S)[1]
    shelf = os.path.join(WORK, "cli-bin")  # `sockpit` on PATH, whatever the binary under test is called
    os.makedirs(shelf, exist_ok=True)
    if not os.path.exists(os.path.join(shelf, "sockpit")):
        os.symlink(os.path.abspath(BIN), os.path.join(shelf, "sockpit"))
    readme_env = dict(ENV, PATH=shelf + ":" + ENV["PATH"])
    done = subprocess.run(["bash", "-e", "-c", block], capture_output=True, text=True, env=readme_env, timeout=120)
    ok(done.returncode == 0 and "\nhello\n" in done.stdout and "end of stream" in done.stdout and "3 sent, 3 received" not in done.stdout
       and "5 sent, 5 received" in done.stdout, "the README's sockpit block runs verbatim", done.stdout[-3000:] + done.stderr[-2000:])

    # events --follow: a socket created meanwhile, then again after the server restarts, each event once.
    follower = subprocess.Popen([BIN, "events", "--follow", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
    seen = []

    lines = queue.Queue()  # read by a thread: select() on a buffered pipe misses lines already read ahead
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()

    def follow_until(socket_id, op="create"):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                event = json.loads(lines.get(timeout=max(0.01, deadline - time.time())))
            except queue.Empty:
                break
            seen.append(event)
            if event.get("socket_id") == socket_id and event["op"] == op:
                return True
        return False

    # The follower starts from now on: make the socket once its stream is subscribed.
    for _ in range(400):
        if api("/v1/stats")["event_streams"]["subscribers"] >= 1:
            break
        time.sleep(0.025)
    first = api("/v1/sockets", "POST", {"family": "inet", "type": "dgram"})["id"]
    ok(follow_until(first), "events --follow prints a socket created meanwhile")
    server.stop()
    server.start()
    second = api("/v1/sockets", "POST", {"family": "inet6", "type": "dgram"})["id"]
    resumed = follow_until(second)
    if not resumed:
        follower.terminate()
    ok(resumed, "events --follow resumes after the server restarts", f"seen {[(e['id'], e['op']) for e in seen]}\nstderr: {follower.stderr.read() if not resumed else ''}")
    ids = [int(e["id"]) for e in seen]
    ok(ids == sorted(set(ids)) and any(e["op"] == "close" and e["socket_id"] == first for e in seen),
       f"no event twice, none missed across the restart (the shutdown's closes included): {ids}")
    follower.terminate()

    # A follower the server drops before it printed anything resumes from where it started, not from a later "now".
    follower.wait()
    streams = api("/v1/stats")["event_streams"]["subscribers"]  # the old follower's may not have been noticed yet
    quiet = subprocess.Popen([BIN, "events", "--follow", "--json", "--op", "listen"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in quiet.stdout], daemon=True).start()
    for _ in range(400):
        if api("/v1/stats")["event_streams"]["subscribers"] > streams:
            break
        time.sleep(0.025)
    server.stop()
    server.start()
    listener = api("/v1/sockets", "POST", {"family": "inet", "type": "stream"})["id"]  # before the follower is back
    api(f"/v1/sockets/{listener}/bind", "POST", {"address": {"host": "127.0.0.1", "port": 0}})
    api(f"/v1/sockets/{listener}/listen", "POST", {})
    seen = []
    heard = follow_until(listener, "listen")
    quiet.terminate()
    ok(heard, "events --follow that printed nothing yet misses nothing across a restart",
       f"seen {[(e['id'], e['op']) for e in seen]}\nstderr: {quiet.stderr.read() if not heard else ''}")
finally:
    server.stop()
print("cli: every check passed")
