"""What synchronous commit (zrs2.2 acknowledgements) costs over
asynchronous replication, on loopback, in the same run.

Primaries in this process (commits through the storage API, one small
record each, as a ZEO server makes them), each with its secondary (a
FileStorage) in a child process: one primary with ``synchronous 1``, one
without. Their commits alternate one by one, so both see the same
(shared, busy) machine; after each step, untimed, the secondary finishes
(so the asynchronous one's fsync does not land in the next step). Beside them, interleaved the same way: a bare
``write`` + ``fsync`` of a small record on the secondaries' file system,
and an 8-byte round trip to another process over loopback TCP; both are
part of what an acknowledgement costs, whatever the protocol.

Goal (issue 16): synchronous commit costs < 1 ms p50 over asynchronous.

    bin/py benchmarks/zrs_synchronous.py [--commits N]
"""
import argparse
import os
import socket
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


def commit(storage, oid, serial):
    """One commit of a 100-byte record; its tid."""
    meta = TransactionMetaData()
    storage.tpc_begin(meta)
    storage.store(oid, serial, os.urandom(100), '', meta)
    storage.tpc_vote(meta)
    return storage.tpc_finish(meta)


class Committer:
    """A primary (``synchronous`` 0 or 1) with its secondary process,
    committing one record after another."""

    def __init__(self, directory, name, synchronous):
        self.primary = zc.zrs.Primary(
            ZODB.FileStorage.FileStorage(os.path.join(directory,
                                                      f'{name}.fs')),
            ('127.0.0.1', 0), synchronous=synchronous)
        self.secondary = child(
            *SECONDARY, os.path.join(directory, f'{name}-s.fs'),
            str(self.primary.address[1]))
        assert self.secondary.stdout.readline() == 'ready\n'
        wait(lambda: self.primary.acknowledged() is not None,
             timeout=TIMEOUT)
        self.oid = self.primary.new_oid()
        self.serial = z64

    def __call__(self):
        self.serial = commit(self.primary, self.oid, self.serial)

    def settle(self):
        """Untimed: let the secondary finish (an asynchronous one would
        otherwise fsync during the next step)."""
        assert self.primary.wait_acknowledged(self.serial, TIMEOUT)

    def close(self):
        self.secondary.stdin.write('quit\n')
        self.secondary.stdin.close()
        self.secondary.wait(TIMEOUT)
        self.secondary.stdout.close()
        self.primary.close()


class Fsync:
    """Append 200 bytes and fsync, on the secondaries' file system (what a
    FileStorage's tpc_finish pays)."""

    def __init__(self, directory):
        self.file = open(os.path.join(directory, 'fsync.bin'), 'ab')

    def __call__(self):
        self.file.write(os.urandom(200))
        self.file.flush()
        os.fsync(self.file.fileno())

    def settle(self):
        pass

    def close(self):
        self.file.close()


class RoundTrip:
    """8 bytes to another process over loopback TCP and back: what any
    acknowledgement costs on this machine, whatever the protocol."""

    def __init__(self):
        self.process = child('-c', ECHO)
        port = int(self.process.stdout.readline())
        self.socket = socket.create_connection(('127.0.0.1', port), TIMEOUT)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __call__(self):
        self.socket.sendall(b'x' * 8)
        received = 0
        while received < 8:
            received += len(self.socket.recv(8))

    def settle(self):
        pass

    def close(self):
        self.socket.close()
        self.process.wait(TIMEOUT)
        self.process.stdout.close()


SECONDARY = '-m', 'zc.zrs.tests.secondary_process'
ECHO = """
import socket
listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
connection, _ = listener.accept()
connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    data = connection.recv(64)
    if not data:
        break
    connection.sendall(data)
"""


def child(*args):
    """A Python child process importing what we import."""
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen([sys.executable, *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--commits', type=int, default=2000,
                        help='commits of each kind (default 2000)')
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        steps = {'asynchronous': Committer(directory, 'async', 0),
                 'synchronous': Committer(directory, 'sync', 1),
                 'fsync': Fsync(directory),
                 'round trip': RoundTrip()}
        figures = {name: [] for name in steps}
        try:
            for i in range(options.commits + 50):
                for name, step in steps.items():
                    started = time.perf_counter()
                    step()
                    if i >= 50:  # warmed up
                        figures[name].append(time.perf_counter() - started)
                    step.settle()
        finally:
            for step in steps.values():
                step.close()
    zc.zrs.loop.stop()
    print(f'{options.commits} of each, interleaved one by one; primaries in '
          f'this process, secondaries in their own, loopback; milliseconds')
    print(f'{"figure":24} {"p50":>8} {"p90":>8} {"p99":>8} {"mean":>8}')
    for name, values in figures.items():
        ms = [v * 1000 for v in values]
        print(f'{name:24} {percentile(ms, .5):8.3f} {percentile(ms, .9):8.3f}'
              f' {percentile(ms, .99):8.3f} {statistics.mean(ms):8.3f}')
    p50 = {name: percentile(values, .5) * 1000
           for name, values in figures.items()}
    extra = p50['synchronous'] - p50['asynchronous']
    print(f'synchronous - asynchronous, p50: {extra:.3f} ms (goal < 1 ms); '
          f'the secondary\'s fsync p50 {p50["fsync"]:.3f} ms and a bare '
          f'loopback round trip p50 {p50["round trip"]:.3f} ms are part of '
          f'it; the rest: {extra - p50["fsync"] - p50["round trip"]:.3f} ms')


if __name__ == '__main__':
    main()
