"""Timing script for the zope.testbrowser 8.1 peer (a black box).

Run by the peer venv's python from benchmarks/testbrowser_pages.py; never
imported by our code. Prints the seconds each round took, one round per
line: wall-clock, then this process's CPU time.

    python testbrowser_peer.py wsgi ITERATIONS ROUNDS
    python testbrowser_peer.py http URL ITERATIONS ROUNDS
"""
import sys
import time

import testbrowser_app
import zope.testbrowser.browser


def walk(browser, start, iterations):
    for _ in range(iterations):
        browser.open(start)
        browser.getLink('next page').click()


def main(argv):
    mode = argv[0]
    if mode == 'wsgi':
        start = 'http://localhost/page/1'

        def make():
            return zope.testbrowser.browser.Browser(
                wsgi_app=testbrowser_app.app)
        iterations, rounds = map(int, argv[1:3])
    else:
        start = argv[1] + '/page/1'
        make = zope.testbrowser.browser.Browser
        iterations, rounds = map(int, argv[2:4])
    walk(make(), start, 5)  # warm up
    for _ in range(rounds):
        browser = make()
        began, cpu = time.perf_counter(), time.process_time()
        walk(browser, start, iterations)
        print(time.perf_counter() - began, time.process_time() - cpu,
              flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
