"""The one-command cluster: how long ``zc-stack up`` takes until ``zc-stack
smoke`` passes, how long ``down`` takes, and what the front door costs.

- up-to-smoke: wall time from launching ``zc-stack up`` (everything: a
  ZooKeeper, a primary, secondaries, app servers, HAProxy and its
  balancer) until ``zc-stack smoke`` first exits 0, over ``--runs`` runs,
  each in a fresh base directory.
- down: wall time of ``zc-stack down``.
- front door: requests/s of ``GET /`` (the guestbook page, read through
  ZEO) with wrk through HAProxy, against the same load sent straight to
  one app server, in the same run: the ratio is the front door's cost.

Goals: up-to-smoke under 15 s on this machine; the front door keeps at
least 90 % of the requests/s of one app server.

    bin/py benchmarks/cluster_up.py [--runs N] [--duration S]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from zc.zk.testing import free_port

#: Seconds ``smoke`` may keep failing after ``up`` before the run fails.
SMOKE_DEADLINE = 60


def zc_stack(base, *args, check=True):
    done = subprocess.run(
        [sys.executable, '-m', 'zc.stack.cluster.cli', '--base', base,
         *map(str, args)],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        capture_output=True, text=True, timeout=300)
    if check and done.returncode:
        raise SystemExit(f'zc-stack {args[0]} failed: {done.stdout}'
                         f' {done.stderr}')
    return done


def up_to_smoke(base, port):
    start = time.perf_counter()
    zc_stack(base, 'up', '--front-port', port)
    while zc_stack(base, 'smoke', check=False).returncode:
        if time.perf_counter() - start > SMOKE_DEADLINE:
            raise SystemExit('smoke did not pass within'
                             f' {SMOKE_DEADLINE}s of up')
        time.sleep(0.1)
    return time.perf_counter() - start


def requests_per_second(url, duration, connections):
    if shutil.which('wrk') is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    done = subprocess.run(
        ['wrk', '-t2', f'-c{connections}', f'-d{duration}s', url],
        capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r'Requests/sec:\s+([\d.]+)', done.stdout)
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', done.stdout)
    if match is None or errors:
        raise SystemExit(f'wrk against {url} failed: {done.stdout}'
                         f' {done.stderr}')
    return float(match.group(1))


def main(args=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--duration', type=int, default=5,
                        help='seconds of load per wrk measurement')
    parser.add_argument('--connections', type=int, default=16)
    options = parser.parse_args(args)
    ups, downs = [], []
    for run in range(options.runs):
        base = tempfile.mkdtemp(prefix='zcs-bench-')
        try:
            ups.append(up_to_smoke(base, free_port()))
            if run == options.runs - 1:
                measure_front(base, options)
            start = time.perf_counter()
            zc_stack(base, 'down')
            downs.append(time.perf_counter() - start)
        finally:
            zc_stack(base, 'down', check=False)
            shutil.rmtree(base, ignore_errors=True)
        print(f'run {run + 1}: up-to-smoke {ups[-1]:.2f} s,'
              f' down {downs[-1]:.2f} s', flush=True)
    print(f'up-to-smoke: median {statistics.median(ups):.2f} s'
          f' (min {min(ups):.2f}, max {max(ups):.2f}) over {len(ups)} runs;'
          f' goal < 15 s')
    print(f'down:        median {statistics.median(downs):.2f} s'
          f' (min {min(downs):.2f}, max {max(downs):.2f})')


def measure_front(base, options):
    document = json.loads(zc_stack(base, 'status', '--json').stdout)
    app = next(s['address'] for s in document['services']
               if s['role'] == 'app')
    # Alternate, so a busy machine slows both alike.
    front, direct = [], []
    for _ in range(2):
        front.append(requests_per_second(document['front'], options.duration,
                                         options.connections))
        direct.append(requests_per_second(f'http://{app}/', options.duration,
                                          options.connections))
    ratio = statistics.median(front) / statistics.median(direct)
    print(f'front door:  {statistics.median(front):,.0f} requests/s through'
          f' HAProxy, {statistics.median(direct):,.0f} straight to one app'
          f' server: ratio {ratio:.2f} (goal >= 0.90)', flush=True)


if __name__ == '__main__':
    main()
