"""zc.thread create+start+join overhead against plain threading.Thread.

Both are timed in the same run, interleaved round by round so that a busy
machine slows both alike; the figure is the ratio of the medians.
Goal: zc.thread within 10% of threading.Thread.

    bin/py benchmarks/thread_overhead.py [--threads N] [--rounds N]
"""
import argparse
import statistics
import threading
import time

import zc.thread


def work():
    return 1


def plain(n):
    for _ in range(n):
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        thread.join()


def zc_thread(n):
    for _ in range(n):
        zc.thread.Thread(work).join()


def timed(func, n):
    start = time.perf_counter()
    func(n)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=2000,
                        help='threads per round (default 2000)')
    parser.add_argument('--rounds', type=int, default=15,
                        help='rounds of each (default 15)')
    options = parser.parse_args(argv)
    timed(plain, 200), timed(zc_thread, 200)  # warm up
    results = {'threading.Thread': [], 'zc.thread.Thread': []}
    for _ in range(options.rounds):
        results['threading.Thread'].append(timed(plain, options.threads))
        results['zc.thread.Thread'].append(timed(zc_thread, options.threads))
    medians = {name: statistics.median(times)
               for name, times in results.items()}
    for name, median in medians.items():
        print(f'{name:18} {options.threads / median:9.0f} threads/s'
              f'  ({median / options.threads * 1e6:.1f} us each)')
    ratio = medians['zc.thread.Thread'] / medians['threading.Thread']
    print(f'ratio zc.thread/threading time: {ratio:.3f} (goal <= 1.10)')


if __name__ == '__main__':
    main()
