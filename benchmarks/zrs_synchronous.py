"""What synchronous commit (zrs2.2 acknowledgements) costs over
asynchronous replication, on loopback, in the same run.

Two processes: the primary in this one (commits through the storage API,
one small record each, as a ZEO server makes them), its secondary (a
FileStorage) in a child process. Rounds alternate between a primary with
``synchronous 1`` and one without (both with the secondary attached), so
both see the same machine. A third figure is a bare ``write`` + ``fsync``
of a small record on the secondary's file system: the part of the extra
latency the secondary's disk sets, whatever the protocol.

Goal (issue 16): synchronous commit costs < 1 ms p50 over asynchronous.

    bin/py benchmarks/zrs_synchronous.py [--commits N] [--rounds N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import ZODB.FileStorage
from ZODB.Connection import TransactionMetaData
from ZODB.utils import z64
from zope.testing.wait import wait

import zc.zrs
import zc.zrs.loop

TIMEOUT = 60


def commit_latencies(storage, count):
    """Seconds per commit of one 100-byte record."""
    oid = storage.new_oid()
    serial = z64
    latencies = []
    for _ in range(count):
        meta = TransactionMetaData()
        started = time.perf_counter()
        storage.tpc_begin(meta)
        storage.store(oid, serial, os.urandom(100), '', meta)
        storage.tpc_vote(meta)
        serial = storage.tpc_finish(meta)
        latencies.append(time.perf_counter() - started)
    return latencies


def fsync_latencies(directory, count):
    """Seconds per append of 200 bytes + fsync, on ``directory``'s file
    system (what a FileStorage's tpc_finish pays)."""
    latencies = []
    with open(os.path.join(directory, 'fsync.bin'), 'ab') as f:
        for _ in range(count):
            started = time.perf_counter()
            f.write(os.urandom(200))
            f.flush()
            os.fsync(f.fileno())
            latencies.append(time.perf_counter() - started)
    return latencies


class SecondaryProcess:
    """zc.zrs.tests.secondary_process: a secondary of its own process."""

    def __init__(self, path, port):
        env = dict(os.environ,
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'zc.zrs.tests.secondary_process', path,
             str(port)], env=env, text=True, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)
        assert self.process.stdout.readline() == 'ready\n'

    def close(self):
        self.process.stdin.write('quit\n')
        self.process.stdin.close()
        self.process.wait(TIMEOUT)
        self.process.stdout.close()


def run_round(directory, name, synchronous, count):
    path = os.path.join(directory, f'{name}.fs')
    primary = zc.zrs.Primary(ZODB.FileStorage.FileStorage(path),
                             ('127.0.0.1', 0), synchronous=synchronous)
    secondary = SecondaryProcess(os.path.join(directory, f'{name}-s.fs'),
                                 primary.address[1])
    try:
        wait(lambda: primary.acknowledged() is not None, timeout=TIMEOUT)
        commit_latencies(primary, 20)  # warm up
        return commit_latencies(primary, count)
    finally:
        secondary.close()
        primary.close()


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--commits', type=int, default=300,
                        help='commits per round (default 300)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='rounds of each kind (default 3)')
    options = parser.parse_args()
    figures = {'asynchronous': [], 'synchronous': [], 'fsync': []}
    with tempfile.TemporaryDirectory() as directory:
        for i in range(options.rounds):
            for kind, synchronous in (('asynchronous', 0),
                                      ('synchronous', 1)):
                figures[kind] += run_round(directory, f'{kind}{i}',
                                           synchronous, options.commits)
            figures['fsync'] += fsync_latencies(directory, options.commits)
    zc.zrs.loop.stop()
    print(f'{options.rounds} rounds x {options.commits} commits, primary '
          f'and secondary in two processes, loopback; milliseconds')
    print(f'{"figure":24} {"p50":>8} {"p90":>8} {"p99":>8} {"mean":>8}')
    for kind, values in figures.items():
        ms = [v * 1000 for v in values]
        print(f'{kind:24} {percentile(ms, .5):8.3f} {percentile(ms, .9):8.3f}'
              f' {percentile(ms, .99):8.3f} {statistics.mean(ms):8.3f}')
    extra = (percentile(figures['synchronous'], .5)
             - percentile(figures['asynchronous'], .5)) * 1000
    fsync = percentile(figures['fsync'], .5) * 1000
    print(f'synchronous - asynchronous p50: {extra:.3f} ms '
          f'(goal < 1 ms); of which the secondary\'s fsync p50: '
          f'{fsync:.3f} ms; the rest: {extra - fsync:.3f} ms')


if __name__ == '__main__':
    main()
