"""A `sockpit serve` process for the Python end-to-end scripts (cli.py, Tests/browser/dashboard.py): on a free
loopback port, with a token, restartable on the same data, and the API called with that token."""
import json
import signal
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, binary, data_dir, log, token, *flags):
        self.command = [binary, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", data_dir,
                        "--token", token, "--log-level", "warning", *flags]
        self.url = f"http://{self.command[3]}"
        self.log, self.token, self.process = log, token, None

    def start(self):
        """Starts the server and returns once GET /v1/health answers."""
        self.process = subprocess.Popen(self.command, stderr=open(self.log, "a"))
        for _ in range(400):
            try:
                urllib.request.urlopen(f"{self.url}/v1/health", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.025)
        raise SystemExit(f"FAIL: the server did not start (see {self.log})")

    def stop(self):
        """SIGTERM, and waits for the graceful stop; nothing if it is not running."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def api(self, path, method="GET", body=None):
        """The JSON answer of `method path` (None for an empty body); an error status raises HTTPError."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return json.loads(text) if text else None
