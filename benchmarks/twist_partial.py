"""zc.twist.Partial calls/s committing small changes, against plain
``deferToThread`` with hand-written transaction code, in the same run.

Each call adds 1 to a persistent counter in a FileStorage and commits,
issued from the reactor in bursts of ``--calls``:

- ``Partial``: ``Partial(counter.add, 1)()``, run in the reactor's thread
  (a connection of its own, commit, close, retries on conflicts);
- baseline: ``deferToThread`` of a function that opens a connection with a
  transaction manager of its own, adds and commits in
  ``for attempt in tm.attempts(...)``, and closes: the code one writes by
  hand, on the reactor's thread pool (10 threads; the database's pool has
  room for them, the benchmark's own connection and the writer).

Two workloads: without contention (each call changes a counter of its own),
and with contention (every call changes the same counter, which a writer
thread also commits to every millisecond). Rounds alternate between the two
ways so that a busy machine slows both alike; the figures are medians and
the ratio is Partial/deferToThread calls per second (higher is better).

    bin/py benchmarks/twist_partial.py [--calls N] [--rounds N]
"""
import argparse
import os
import statistics
import tempfile
import threading
import time

import persistent
import persistent.list
import transaction
import ZODB
import ZODB.FileStorage
import ZODB.POSException
from twisted.internet import defer
from twisted.internet import task
from twisted.internet import threads

import zc.twist


class Counter(persistent.Persistent):

    value = 0

    def add(self, amount):
        self.value += amount
        return self.value


def add_by_hand(db, oid):
    """What one writes without zc.twist, run in a thread."""
    manager = transaction.TransactionManager()
    connection = db.open(manager)
    try:
        for attempt in manager.attempts(10_000):
            with attempt:
                connection.get(oid).add(1)
    finally:
        connection.close()


class HotWriter:
    """A thread committing to one counter every millisecond."""

    def __init__(self, db, oid):
        self.db, self.oid = db, oid
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name='hot writer')

    def run(self):
        while not self.stopping.is_set():
            add_by_hand(self.db, self.oid)
            self.stopping.wait(0.001)

    def __enter__(self):
        self.thread.start()

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.thread.join(60)


def partial_burst(counters):
    deferreds = []
    for counter in counters:
        partial = zc.twist.Partial(counter.add, 1)
        partial.max_transaction_errors = None
        deferreds.append(partial())
    return defer.gatherResults(deferreds)


def thread_burst(db, counters):
    return defer.gatherResults([
        threads.deferToThread(add_by_hand, db, counter._p_oid)
        for counter in counters])


async def timed(burst, *args):
    start = time.perf_counter()
    await burst(*args)
    return time.perf_counter() - start


async def run(reactor, options):
    directory = tempfile.mkdtemp(prefix='twist-bench-')
    db = ZODB.DB(ZODB.FileStorage.FileStorage(
        os.path.join(directory, 'Data.fs')), pool_size=12)
    reactor.suggestThreadPoolSize(10)
    with db.transaction() as connection:
        connection.root.counters = persistent.list.PersistentList(
            Counter() for i in range(options.calls))
        connection.root.hot = Counter()
    connection = db.open()
    own_counters = list(connection.root.counters)
    hot = connection.root.hot
    workloads = {
        'no contention': (own_counters, None),
        'contention': ([hot] * options.calls, hot._p_oid),
    }
    times = {(workload, way): [] for workload in workloads
             for way in ('Partial', 'deferToThread')}
    # warm up both ways
    await timed(partial_burst, own_counters[:50])
    await timed(thread_burst, db, own_counters[:50])
    for round in range(options.rounds):
        for workload, (counters, hot_oid) in workloads.items():
            writer = HotWriter(db, hot_oid) if hot_oid else None
            if writer:
                writer.__enter__()
            try:
                times[workload, 'Partial'].append(
                    await timed(partial_burst, counters))
                times[workload, 'deferToThread'].append(
                    await timed(thread_burst, db, counters))
            finally:
                if writer:
                    writer.__exit__()
    connection.close()
    db.close()
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))
    os.rmdir(directory)

    print(f'{options.calls} calls per burst, {options.rounds} rounds,'
          f' medians:')
    for workload in workloads:
        rates = {way: options.calls / statistics.median(times[workload, way])
                 for way in ('Partial', 'deferToThread')}
        for way, rate in rates.items():
            print(f'  {workload:14} {way:14} {rate:8.0f} calls/s')
        print(f'  {workload:14} ratio Partial/deferToThread:'
              f' {rates["Partial"] / rates["deferToThread"]:.2f}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, default=500,
                        help='calls per burst (default 500)')
    parser.add_argument('--rounds', type=int, default=7,
                        help='rounds of each (default 7)')
    options = parser.parse_args(argv)
    task.react(lambda reactor: defer.ensureDeferred(run(reactor, options)))


if __name__ == '__main__':
    main()
