"""zc.testbrowser's Chromium backend against the same steps written
directly in Playwright: open() + getLink().click() pages per second on the
demo site (testbrowser_app.py), with the fast backend's figure beside them.

Both drive the same headless Chromium process (one browser context each)
against the same loopback server, round by round in the same run; the
figures are medians. Goal: our API costs < 10% of Playwright's pages/s.
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


def ours(start, iterations, backend, wsgi_app=None):
    browser = Browser(wsgi_app=wsgi_app, backend=backend)
    browser.open(start)  # warm: the first page pays for the context
    began = time.perf_counter()
    for _ in range(iterations):
        browser.open(start)
        browser.getLink('next page').click()
    elapsed = time.perf_counter() - began
    if backend == 'chromium':
        browser.close()
    return elapsed


def playwright(start, iterations):
    context = chromium.playwright_browser().new_context()
    page = context.new_page()
    page.goto(start)
    began = time.perf_counter()
    for _ in range(iterations):
        page.goto(start)
        page.locator('a', has_text='next page').click()
    elapsed = time.perf_counter() - began
    context.close()
    return elapsed


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
                times['Playwright directly'].append(playwright(start, n))
                times['zc.testbrowser chromium'].append(
                    ours(start, n, 'chromium'))
                times['zc.testbrowser fast'].append(ours(
                    'http://localhost/page/1', 10 * n, 'fast',
                    testbrowser_app.app))
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
