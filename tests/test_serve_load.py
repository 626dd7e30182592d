"""zsmap serve under many connections, on 127.0.0.1: 1,000 concurrent
keep-alive clients all answered with bounded memory; 3,000 idle and
half-sent (stalled) connections held at once without starving new
clients; stalled clients dropped after the idle timeout."""
import asyncio
import os
import resource
import shutil
import socket
import time

from serveutil import Server, vmrss_kb
from zsmaptest import check, check_eq, run_tests, tempdir, zsmap

D = tempdir()
DB = os.path.join(D, "demo.sqlite")
STYLES = os.environ.get("ZSMAP_STYLES", os.path.join(os.path.dirname(__file__), "..", "styles"))
PATHS = ["/tiles/investor/15/27050/13057.png", "/api/carriers/P01", "/healthz",
         "/api/at?lon=117.19&lat=34.29&zoom=16"]
state = {}


def setup_module():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    zsmap("demo", "--db", DB)
    state["srv"] = Server(os.path.join(D, "serve.log"), "--db", DB, "--styles", STYLES,
                          "--timeout", "3")
    for p in PATHS:
        state["srv"].request(p)


async def one_client(port, i, rounds, start):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()  # every connection is open before any request
    ok = 0
    for r in range(rounds):
        path = PATHS[(i + r) % len(PATHS)]
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        ok += head.startswith(b"HTTP/1.1 200") and len(body) == length > 0
    writer.close()
    return ok


async def many_clients(port, n, rounds):
    start = asyncio.Event()
    tasks = [asyncio.ensure_future(one_client(port, i, rounds, start)) for i in range(n)]
    await asyncio.sleep(0)
    while sum(1 for t in tasks if not t.done()) == n and not start.is_set():
        await asyncio.sleep(0.5)
        start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r if isinstance(r, int) else 0 for r in results]


def test_thousand_clients():
    srv = state["srv"]
    pid = srv.proc.pid
    before = vmrss_kb(pid)
    n, rounds = 1000, 5
    t0 = time.time()
    results = asyncio.run(many_clients(srv.port, n, rounds))
    after = vmrss_kb(pid)
    print(f"{n} concurrent keep-alive clients x {rounds} requests in {time.time() - t0:.2f} s; "
          f"RSS {before // 1024} MiB -> {after // 1024} MiB")
    check_eq(sum(results), n * rounds, "every request of 1,000 concurrent clients answered 200")
    check(after - before < 200 * 1024, f"RSS grew {(after - before) // 1024} MiB (< 200 MiB)")


def test_idle_and_stalled():
    srv = state["srv"]
    pid = srv.proc.pid
    before = vmrss_kb(pid)
    socks = []
    for i in range(3000):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        if i % 2:
            s.sendall(b"GET /tiles/investor/15/27050/13057.png HTTP/1.1\r\nHost: x\r\nX-Slow")
        socks.append(s)
    time.sleep(0.5)
    held = vmrss_kb(pid)
    # a new client is served while 3,000 connections sit idle or half-sent
    st, _, body = srv.request("/healthz", timeout=10)
    check_eq(st, 200, "a new client is served beside 3,000 idle and stalled connections")
    print(f"3,000 idle/stalled connections: RSS {before // 1024} MiB -> {held // 1024} MiB "
          f"({(held - before) / 3000:.1f} kB each)")
    check(held - before < 256 * 1024, f"3,000 idle connections cost {(held - before) // 1024} MiB")
    # after the idle timeout (3 s here) the server has closed them
    time.sleep(5)
    closed = 0
    for s in socks:
        s.settimeout(2)
        try:
            closed += s.recv(1) == b""
        except ConnectionResetError:
            closed += 1
        except socket.timeout:
            pass
        s.close()
    check(closed >= 2990, f"stalled and idle connections closed after the timeout: {closed}/3000")
    check_eq(srv.request("/healthz")[0], 200, "still serving")
    check_eq(srv.stop(), 0, "SIGTERM stops the server")


if __name__ == "__main__":
    try:
        setup_module()
        run_tests([test_thousand_clients, test_idle_and_stalled])
    finally:
        if "srv" in state:
            state["srv"].kill()
        shutil.rmtree(D, ignore_errors=True)
