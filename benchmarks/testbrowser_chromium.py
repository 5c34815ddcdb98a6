"""zc.testbrowser's Chromium backend against the same steps written
directly in Playwright: open() + getLink().click() pages per second on the
demo site (testbrowser_app.py), with the fast backend's figure beside them.

Both drive the same headless Chromium process (one browser context each)
against the same loopback server, taking turns page pair by page pair in
each round, so both see the same load; the figures are medians of the
rounds. Goal: our API costs < 10% of Playwright's pages/s.
Needs Debian's chromium package and zc.testbrowser[chromium].

    bin/py benchmarks/testbrowser_chromium.py [--iterations N] [--rounds N]
"""
import argparse
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import testbrowser_app  # noqa: E402
from zc.testbrowser import chromium  # noqa: E402
from zc.testbrowser.browser import Browser  # noqa: E402
from zc.testbrowser.testing import Server  # noqa: E402


def fast(iterations):
    """The fast backend, in-process, on the same site."""
    browser = Browser(wsgi_app=testbrowser_app.app)
    start = 'http://localhost/page/1'
    began = time.perf_counter()
    for _ in range(iterations):
        browser.open(start)
        browser.getLink('next page').click()
    return time.perf_counter() - began


def chromium_round(start, iterations):
    """One round of ours and of Playwright directly, pair by pair in
    turn (and in turns first), so both see the same load on a shared
    machine; returns the seconds each spent."""
    browser = Browser(backend='chromium')
    context = chromium.playwright_browser().new_context()
    page = context.new_page()
    browser.open(start)  # the first page of each pays for its context
    page.goto(start)

    def ours():
        browser.open(start)
        browser.getLink('next page').click()

    def direct():
        page.goto(start)
        page.locator('a', has_text='next page').click()

    spent = {ours: 0.0, direct: 0.0}
    for i in range(iterations):
        for steps in ((ours, direct) if i % 2 else (direct, ours)):
            began = time.perf_counter()
            steps()
            spent[steps] += time.perf_counter() - began
    browser.close()
    context.close()
    return spent[ours], spent[direct]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=30,
                        help='open+click pairs per round (default 30)')
    parser.add_argument('--rounds', type=int, default=7,
                        help='rounds of each (default 7)')
    options = parser.parse_args(argv)
    n = options.iterations
    times = {'zc.testbrowser chromium': [], 'Playwright directly': [],
             'zc.testbrowser fast': []}
    with Server(testbrowser_app.app, threads=True) as server:
        start = server.url + '/page/1'
        try:
            for _ in range(options.rounds):
                ours, direct = chromium_round(start, n)
                times['zc.testbrowser chromium'].append(ours)
                times['Playwright directly'].append(direct)
                times['zc.testbrowser fast'].append(fast(10 * n))
        finally:
            chromium.stop()
    pages = {'zc.testbrowser chromium': 2 * n, 'Playwright directly': 2 * n,
             'zc.testbrowser fast': 20 * n}
    rates = {}
    for name, spent in times.items():
        rates[name] = pages[name] / statistics.median(spent)
        spread = ', '.join(f'{pages[name] / t:.1f}' for t in sorted(spent))
        print(f'{name:25} {rates[name]:9.1f} pages/s  (rounds: {spread})')
    ratio = rates['zc.testbrowser chromium'] / rates['Playwright directly']
    print(f'ratio zc.testbrowser chromium / Playwright: {ratio:.3f} '
          f'(our API costs {100 * (1 - ratio):.1f}%)')
    faster = rates['zc.testbrowser fast'] / rates['zc.testbrowser chromium']
    print(f'the fast backend (in-process) is {faster:.0f}x as fast as '
          f'Chromium')


if __name__ == '__main__':
    main()
