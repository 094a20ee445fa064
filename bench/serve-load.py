#!/usr/bin/env python3
"""Load benchmark of `tarn serve --sandbox`: N devices at once (default 200), each creating a
serverless runtime, reading it and deleting it, over plain HTTP against the real binary and its
OpenNebula emulator. Prints throughput and latency percentiles per request kind, and fails
(exit 1) when a request is lost (no answer, or not 201/200/204) or a runtime is left behind in
the emulator (a service, a live VM or a SERVERLESS_RUNTIME document).

Usage: bench/serve-load.py [--tarn target/release/tarn] [--devices 200] [--state postgres://...]
Only the Python standard library; the server runs in a fresh temporary directory.
"""

import argparse
import base64
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

AUTH = "Basic " + base64.b64encode(b"cognit:sandbox").decode()


def request(addr, method, path, body=None, timeout=600):
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Authorization": AUTH}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    elapsed = time.monotonic() - started
    conn.close()
    return resp.status, (json.loads(raw) if raw else None), elapsed


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tarn", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "tarn"))
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--state", default=None, help="state location (default: the sandbox's SQLite file)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="tarn-serve-bench-")
    cmd = [args.tarn, "-C", work, "--sandbox", "serve", "--listen", "127.0.0.1:0"]
    if args.state:
        cmd += ["--state", args.state]
    env = dict(os.environ, TARN_LOG="warn")
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = server.stdout.readline()
    m = re.search(r"on http://(\S+)", line)
    if not m:
        print("tarn serve did not start:", line, server.stderr.read(), file=sys.stderr)
        return 1
    addr = m.group(1)
    emulator = None
    while emulator is None:
        err = server.stderr.readline()
        e = re.search(r"OpenNebula emulator at http://(\S+)", err)
        if e:
            emulator = e.group(1)
    # Keep draining stderr so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

    results = {"create": [], "get": [], "delete": []}
    lost = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.devices)

    def device(n):
        body = {"SERVERLESS_RUNTIME": {"NAME": f"device-{n}", "FAAS": {"FLAVOUR": "Function", "CPU": 1, "MEMORY": 512}}}
        barrier.wait()
        try:
            status, doc, t = request(addr, "POST", "/serverless-runtimes", body)
            with lock:
                results["create"].append(t)
            if status != 201:
                raise RuntimeError(f"create answered {status}: {doc}")
            rid = doc["SERVERLESS_RUNTIME"]["ID"]
            status, doc, t = request(addr, "GET", f"/serverless-runtimes/{rid}")
            with lock:
                results["get"].append(t)
            if status != 200:
                raise RuntimeError(f"get {rid} answered {status}: {doc}")
            status, doc, t = request(addr, "DELETE", f"/serverless-runtimes/{rid}")
            with lock:
                results["delete"].append(t)
            if status != 204:
                raise RuntimeError(f"delete {rid} answered {status}: {doc}")
        except Exception as e:  # a lost request: no answer, or the wrong one
            with lock:
                lost.append(f"device {n}: {e}")

    started = time.monotonic()
    threads = [threading.Thread(target=device, args=(n,)) for n in range(args.devices)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started

    _, world, _ = request(emulator, "GET", "/__sim/state")
    services = world.get("services", [])
    live_vms = [v for v in world.get("vms", []) if v.get("state") != 6]
    documents = world.get("documents", [])
    server.terminate()
    server.wait(timeout=120)

    total = sum(len(v) for v in results.values())
    print(f"tarn serve --sandbox: {args.devices} devices, each create → get → delete, all at once")
    print(f"  {total} requests answered in {wall:.1f} s: {total / wall:.1f} requests/s, "
          f"{len(results['delete']) / wall:.2f} runtime lifecycles/s")
    print(f"  {'request':<8} {'count':>6} {'p50 s':>8} {'p90 s':>8} {'p99 s':>8} {'max s':>8}")
    for kind, times in results.items():
        print(f"  {kind:<8} {len(times):>6} {percentile(times, 50):>8.2f} {percentile(times, 90):>8.2f} "
              f"{percentile(times, 99):>8.2f} {max(times) if times else float('nan'):>8.2f}")
    print(f"  lost requests: {len(lost)}; left in the emulator: {len(services)} service(s), "
          f"{len(live_vms)} live VM(s), {len(documents)} document(s)")
    for l in lost[:10]:
        print("   ", l)
    return 1 if lost or services or live_vms or documents else 0


if __name__ == "__main__":
    sys.exit(main())
