"""zc.zk against plain kazoo, on a real ZooKeeper this script starts.

1. ``import_tree`` of a 10,000-node tree, against creating the same nodes
   with sequential blocking kazoo ``create`` calls (one round trip each).
   Goal: import >= 5x faster.
2. ``register`` -> visible in another session's ``children()`` view
   (p50/p99 latency), against kazoo's ephemeral ``create`` -> another
   session's ``ChildrenWatch``. Goal: p99 < 20 ms.

Rounds are interleaved so that a busy machine slows both sides alike.

    bin/py benchmarks/zk_import_and_register.py [--nodes N] [--rounds N]
        [--registrations N]
"""
import argparse
import logging
import statistics
import threading
import time

from kazoo.client import KazooClient

import zc.zk
from zc.zk.testing.server import Server

TIMEOUT = 10.0


def tree_text(nodes):
    """A tree of ``nodes`` nodes: services of 99 providers each, with a
    few properties per node."""
    lines, count, service = [], 0, 0
    while count < nodes:
        lines.append(f'/service{service} : benchmark\n  threads = 4\n'
                     f"  database = '/databases/db{service}'\n")
        count += 1
        for i in range(min(99, nodes - count)):
            lines.append(f'  /node{i}\n    weight = {i}\n'
                         f"    color = 'red'\n")
            count += 1
        service += 1
    return ''.join(lines)


def sequential_kazoo(client, root, tree):
    """The baseline: the tree's nodes created one blocking call each."""
    client.create(root)

    def create(parent, node):
        path = f'{parent}/{node.name}'
        client.create(path, zc.zk.encode(node.properties))
        for child in node.children.values():
            create(path, child)
    for top in tree.children.values():
        create(root, top)


def timed(func, *args):
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def bench_import(zk, client, nodes, rounds):
    text = tree_text(nodes)
    tree = zc.zk.parse_tree(text)
    times = {'sequential kazoo create': [], 'zc.zk import_tree': []}
    for n in range(rounds):
        times['sequential kazoo create'].append(
            timed(sequential_kazoo, client, f'/kazoo{n}', tree))
        times['zc.zk import_tree'].append(
            timed(zk.import_tree, text, f'/zczk{n}'))
        assert len(list(zk.walk(f'/zczk{n}'))) == nodes + 1
        zk.delete_recursive(f'/kazoo{n}')
        zk.delete_recursive(f'/zczk{n}')
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f'import of {nodes} nodes, median of {rounds} rounds:')
    for name, median in medians.items():
        print(f'  {name:24} {median:7.3f} s  ({nodes / median:8.0f}'
              ' nodes/s)')
    ratio = (medians['sequential kazoo create']
             / medians['zc.zk import_tree'])
    print(f'  ratio sequential/import_tree: {ratio:.1f}x (goal >= 5x)')


class Arrivals:
    """When each name first appeared in a watched children list."""

    def __init__(self):
        self.seen = {}
        self.changed = threading.Condition()

    def update(self, names):
        now = time.perf_counter()
        with self.changed:
            for name in names:
                self.seen.setdefault(name, now)
            self.changed.notify_all()

    def wait_for(self, name):
        with self.changed:
            if not self.changed.wait_for(lambda: name in self.seen,
                                         TIMEOUT):
                raise AssertionError(f'{name} never seen')
            return self.seen[name]


def percentiles(latencies):
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


def bench_register(address, count):
    zk_registrar = zc.zk.ZooKeeper(address)
    zk_watcher = zc.zk.ZooKeeper(address)
    registrar = KazooClient(address)
    watcher = KazooClient(address)
    registrar.start(TIMEOUT)
    watcher.start(TIMEOUT)
    try:
        zk_registrar.create('/zczk-providers')
        registrar.create('/kazoo-providers')
        zk_arrivals, kazoo_arrivals = Arrivals(), Arrivals()
        zk_watcher.children('/zczk-providers')(zk_arrivals.update)
        watcher.ChildrenWatch('/kazoo-providers', kazoo_arrivals.update)
        latencies = {'kazoo create -> ChildrenWatch': [],
                     'zc.zk register -> children()': []}
        for port in range(1, count + 1):
            name = f'127.0.0.1:{port}'
            start = time.perf_counter()
            registrar.create(f'/kazoo-providers/{name}',
                             zc.zk.encode({'pid': 1}), ephemeral=True)
            latencies['kazoo create -> ChildrenWatch'].append(
                kazoo_arrivals.wait_for(name) - start)
            start = time.perf_counter()
            zk_registrar.register('/zczk-providers', name)
            latencies['zc.zk register -> children()'].append(
                zk_arrivals.wait_for(name) - start)
    finally:
        for client in (registrar, watcher):
            client.stop()
            client.close()
        zk_registrar.close()
        zk_watcher.close()
    print(f'registration visible to another session ({count} each):')
    figures = {name: percentiles(values)
               for name, values in latencies.items()}
    for name, (p50, p99) in figures.items():
        print(f'  {name:30} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms')
    zk_p99 = figures['zc.zk register -> children()'][1]
    kazoo_p99 = figures['kazoo create -> ChildrenWatch'][1]
    print(f'  ratio zc.zk/kazoo p99: {zk_p99 / kazoo_p99:.2f}'
          f' (goal: zc.zk p99 < 20 ms: {zk_p99:.2f} ms)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--registrations', type=int, default=500)
    options = parser.parse_args(argv)
    logging.getLogger('kazoo').setLevel(logging.ERROR)
    with Server() as server:
        zk = zc.zk.ZooKeeper(server.address)
        client = KazooClient(server.address)
        client.start(TIMEOUT)
        try:
            bench_import(zk, client, options.nodes, options.rounds)
        finally:
            client.stop()
            client.close()
            zk.close()
        bench_register(server.address, options.registrations)


if __name__ == '__main__':
    main()
