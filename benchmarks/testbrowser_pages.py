"""zc.testbrowser against zope.testbrowser 8.1: open() + getLink().click()
pages per second, in-process (WSGI) and over real HTTP to a loopback
wsgiref server, and the requests each page costs over HTTP.

zope.testbrowser runs as a black-box peer: its own venv
(zc.stack.peers), driven by benchmarks/testbrowser_peer.py in a
subprocess. Both browsers walk the same site (testbrowser_app.py), with the
same workload, round by round in the same run; the figures are medians and
their ratio. Goal: >= 2x in-process, and 1 request per page over HTTP.

    bin/py benchmarks/testbrowser_pages.py [--iterations N] [--rounds N]
"""
import argparse
import http.client
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import testbrowser_app  # noqa: E402
import zc.testbrowser.browser  # noqa: E402
from zc.stack.peers import peer_python  # noqa: E402

PEER = ('zope.testbrowser-8.1', ['zope.testbrowser==8.1'])
TIMEOUT = 600


def walk(browser, start, iterations):
    for _ in range(iterations):
        browser.open(start)
        browser.getLink('next page').click()


def ours(make, start, iterations):
    browser = make()
    began = time.perf_counter()
    walk(browser, start, iterations)
    return time.perf_counter() - began


def peer(python, *args):
    done = subprocess.run(
        [str(python), str(HERE / 'testbrowser_peer.py'), *map(str, args)],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=HERE)
    if done.returncode:
        sys.exit(f'zope.testbrowser peer failed:\n{done.stderr}')
    return [float(line) for line in done.stdout.split()]


def counts(port):
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    connection.request('GET', '/__counts')
    requests, robots = map(int, connection.getresponse().read().split())
    connection.close()
    return requests, robots


def report(label, iterations, times):
    pages = 2 * iterations
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f'{label}:')
    for name, median in medians.items():
        spread = ', '.join(f'{pages / t:.0f}' for t in sorted(times[name]))
        print(f'  {name:22} {pages / median:8.0f} pages/s  '
              f'(rounds: {spread})')
    ratio = medians['zope.testbrowser 8.1'] / medians['zc.testbrowser']
    print(f'  ratio zc/zope pages per second: {ratio:.2f}')
    return ratio


def in_process(python, iterations, rounds):
    def make():
        return zc.testbrowser.browser.Browser(wsgi_app=testbrowser_app.app)
    start = 'http://localhost/page/1'
    ours(make, start, 5)  # warm up
    times = {'zc.testbrowser': [], 'zope.testbrowser 8.1': []}
    for _ in range(rounds):
        times['zc.testbrowser'].append(ours(make, start, iterations))
        times['zope.testbrowser 8.1'] += peer(python, 'wsgi', iterations, 1)
    return report('in-process WSGI', iterations, times)


def over_http(python, iterations, rounds):
    server = subprocess.Popen(
        [sys.executable, str(HERE / 'testbrowser_app.py'), 'serve'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        base = f'http://127.0.0.1:{port}'
        start = base + '/page/1'
        make = zc.testbrowser.browser.Browser
        times = {'zc.testbrowser': [], 'zope.testbrowser 8.1': []}
        per_page = {}
        for _ in range(rounds):
            for name in times:
                before = counts(port)
                if name == 'zc.testbrowser':
                    times[name].append(ours(make, start, iterations))
                    warmups = 0
                else:
                    times[name] += peer(python, 'http', base, iterations, 1)
                    warmups = 5
                after = counts(port)
                pages = 2 * (iterations + warmups)
                per_page[name] = ((after[0] - before[0]) / pages,
                                  (after[1] - before[1]) / pages)
        ratio = report('over HTTP (loopback wsgiref server)', iterations,
                       times)
        for name, (requests, robots) in per_page.items():
            print(f'  {name:22} {requests:.2f} requests per page '
                  f'({robots:.2f} of them /robots.txt)')
        return ratio
    finally:
        server.stdin.close()
        server.wait(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=300,
                        help='open+click pairs per round (default 300)')
    parser.add_argument('--http-iterations', type=int, default=100,
                        help='pairs per round over HTTP (default 100)')
    parser.add_argument('--rounds', type=int, default=7,
                        help='rounds of each (default 7)')
    options = parser.parse_args(argv)
    python = peer_python(*PEER)
    in_process(python, options.iterations, options.rounds)
    over_http(python, options.http_iterations, options.rounds)


if __name__ == '__main__':
    main()
