"""How fast an open ZEO client commits again after its server restarts on a
new port.

zc.zkzeo: the server restarts on a port the system picks and registers
it in ZooKeeper; the client (``zc.zkzeo.DB``) learns the new address from
its watch. Baseline: ZEO's own multi-address failover, a client
configured with both of the two ports the server alternates between.

Each round stops the server, starts it again on the new port, and times
from the moment the new server listens (ZEO's ``Serving`` event) until
the open client's next commit succeeds. Servers run in this process
(``zc.zkzeo.runzeo.test``) on one FileStorage; ZooKeeper is a real one
this script starts. The two sides alternate round by round, so a busy
machine slows both alike. Goal: zc.zkzeo p99 < 2 s.

    bin/py benchmarks/zkzeo_failover.py [--restarts N]
"""
import argparse
import logging
import os
import statistics
import tempfile
import time

import transaction
import ZEO
import ZEO.StorageServer
import zope.event

import zc.zkzeo
import zc.zkzeo.runzeo
from zc.zk.testing.server import Server, free_port

PATH = '/bench/main'
TIMEOUT = 60.0


class Listening:
    """When the last ZEO server started listening (its Serving event)."""

    def __init__(self):
        self.at = None
        zope.event.subscribers.append(self)

    def __call__(self, event):
        if isinstance(event, ZEO.StorageServer.Serving):
            self.at = time.perf_counter()


def storage_section(directory, name):
    return (f'<filestorage>\n  path {os.path.join(directory, name)}.fs\n'
            '</filestorage>')


class Side:
    """One way of finding the server: a server that restarts on new
    ports, and an open client."""

    def __init__(self, directory, name):
        self.storage = storage_section(directory, name)
        self.stop_server = None
        self.rounds = 0

    def restart(self):
        if self.stop_server is not None:
            self.stop_server()
        self.stop_server = self.start_server()
        self.rounds += 1

    def close(self):
        self.db.close()
        self.stop_server()


class ZooKeeperSide(Side):

    def __init__(self, directory, zookeeper):
        super().__init__(directory, 'zkzeo')
        self.zookeeper = zookeeper
        self.stop_server = self.start_server()
        self.db = zc.zkzeo.DB(zookeeper, PATH, wait_timeout=TIMEOUT)

    def start_server(self):
        return zc.zkzeo.runzeo.test(PATH, storage=self.storage,
                                    zookeeper=self.zookeeper)


class TwoAddressSide(Side):

    def __init__(self, directory):
        super().__init__(directory, 'baseline')
        self.ports = [free_port(), free_port()]
        self.stop_server = self.start_server()
        self.db = ZEO.DB([('127.0.0.1', port) for port in self.ports],
                         wait_timeout=TIMEOUT)

    def start_server(self):
        port = self.ports[self.rounds % 2]
        return zc.zkzeo.runzeo.test(
            f'<zeo>\n  address 127.0.0.1:{port}\n</zeo>\n{self.storage}\n')


def commit(db, value):
    for attempt in transaction.manager.attempts(100):
        with attempt:
            with db.transaction() as connection:
                connection.root.value = value


def failover(side, listening, round_number):
    """Seconds from the new server listening to the next commit."""
    side.restart()
    commit(side.db, round_number)
    return time.perf_counter() - listening.at


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name, times):
    print(f'  {name:<34} p50 {statistics.median(times) * 1000:7.1f} ms'
          f'   p99 {percentile(times, 0.99) * 1000:7.1f} ms'
          f'   max {max(times) * 1000:7.1f} ms')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--restarts', type=int, default=20,
                        help='server restarts per side (default 20)')
    options = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    listening = Listening()
    with tempfile.TemporaryDirectory() as directory, Server() as zookeeper:
        zookeeper.start()
        sides = {'zc.zkzeo (ZooKeeper registration)':
                 ZooKeeperSide(directory, zookeeper.address),
                 'ZEO with both addresses (baseline)':
                 TwoAddressSide(directory)}
        times = {name: [] for name in sides}
        try:
            for side in sides.values():
                commit(side.db, 'warm-up')
            for round_number in range(options.restarts):
                for name, side in sides.items():
                    times[name].append(
                        failover(side, listening, round_number))
        finally:
            for side in sides.values():
                side.close()
    print(f'Restart on a new port -> an open client commits again'
          f' ({options.restarts} restarts each):')
    for name, values in times.items():
        report(name, values)
    ours, baseline = times.values()
    p50 = statistics.median(baseline) / statistics.median(ours)
    p99 = percentile(baseline, .99) / percentile(ours, .99)
    print(f'  baseline/zc.zkzeo: p50 {p50:.1f}x, p99 {p99:.1f}x')
    goal = percentile(ours, .99) < 2.0
    print(f'  goal p99 < 2 s: {"met" if goal else "NOT met"}')


if __name__ == '__main__':
    main()
