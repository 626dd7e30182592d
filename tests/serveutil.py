"""A zsmap server started for real on 127.0.0.1 for the HTTP tests: start
and wait until it answers, plain requests, /metrics read back as numbers,
the access log, and a clean SIGTERM."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

from zsmaptest import ZSMAP, check

MERC = 20037508.342789244


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vmrss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def tile_bounds(z, x, y):
    size = 2 * MERC / 2 ** z
    return (-MERC + x * size, MERC - (y + 1) * size, -MERC + (x + 1) * size, MERC - y * size)


class Server:
    """zsmap serve with the given arguments; its stderr goes to log."""

    def __init__(self, log, *args):
        self.port = free_port()
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([ZSMAP, "serve", "--port", str(self.port), *args],
                                         stdout=out, stderr=out)
        end = time.time() + 120
        while time.time() < end:
            if self.proc.poll() is not None:
                break
            try:
                if self.request("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        check(False, f"the server answered /healthz within 120 s: {self.log_text()[-2000:]}")
        raise SystemExit(1)

    def request(self, path, headers=None, method="GET", timeout=60):
        """(status, headers with lower-case names, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()

    def get_json(self, path):
        st, h, body = self.request(path)
        return st, h, json.loads(body) if body else None

    def metrics(self):
        """{'name{labels}': value} of /metrics."""
        st, _, body = self.request("/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def data_version(self):
        return self.get_json("/healthz")[2]["data_version"]

    def wait_version_above(self, v0, seconds=5.0):
        end = time.time() + seconds
        v = v0
        while time.time() < end and v == v0:
            time.sleep(0.05)
            v = self.data_version()
        return v

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM; returns the exit code (None when it had to be killed)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
