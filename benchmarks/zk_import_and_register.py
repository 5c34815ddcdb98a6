"""zc.zk against plain kazoo, on a real ZooKeeper this script starts.

1. ``import_tree`` of a 10,000-node tree, against creating the same nodes
   with sequential blocking kazoo ``create`` calls (one round trip each).
   Goal (issue 19): import >= 20x faster (median of the rounds). Beside
   them, the floor for any importer on kazoo: raw kazoo transactions of
   the same nodes and data, 1,000 creates each, all sent before the first
   reply is read (nothing parsed, nothing checked).
2. ``register`` -> visible in another session's ``children()`` view
   (p50/p99 latency), against kazoo's ephemeral ``create`` -> another
   session's ``ChildrenWatch``. Goal (issue 19): zc.zk's p99 <= 1.2x
   kazoo's (the median over rounds of each round's p99).

Rounds are interleaved, and so are the two sides' registrations (which
goes first alternates), so that a busy machine slows both sides alike.

    bin/py benchmarks/zk_import_and_register.py [--nodes N] [--rounds N]
        [--registrations N] [--register-rounds N]
"""
import argparse
import logging
import os
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


def raw_transactions(client, root, tree, size=1000):
    """The floor: the tree's nodes (encoded beforehand) created by
    pipelined kazoo transactions of ``size`` creates."""
    operations = []

    def visit(parent, node):
        path = f'{parent}/{node.name}'
        operations.append((path, zc.zk.encode(node.properties)))
        for child in node.children.values():
            visit(path, child)
    for top in tree.children.values():
        visit(root, top)
    client.create(root)
    commits = []
    for start in range(0, len(operations), size):
        transaction = client.transaction()
        for path, data in operations[start:start + size]:
            transaction.create(path, data)
        commits.append(transaction.commit_async())
    for commit in commits:
        commit.get(timeout=TIMEOUT)


def cpu_seconds(pid):
    """CPU time (user + system) of process ``pid`` so far."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def timed(server_pid, func, *args):
    """(wall seconds, CPU seconds of this process and of the server)."""
    server_cpu, cpu = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    func(*args)
    wall = time.perf_counter() - start
    return wall, (time.process_time() - cpu
                  + cpu_seconds(server_pid) - server_cpu)


SEQUENTIAL, IMPORT, FLOOR = (
    'sequential kazoo create', 'zc.zk import_tree',
    'floor: raw kazoo multi')


def bench_import(zk, client, server_pid, nodes, rounds):
    text = tree_text(nodes)
    tree = zc.zk.parse_tree(text)
    times = {SEQUENTIAL: [], IMPORT: [], FLOOR: []}
    for n in range(rounds):
        times[SEQUENTIAL].append(
            timed(server_pid, sequential_kazoo, client, f'/kazoo{n}', tree))
        times[IMPORT].append(
            timed(server_pid, zk.import_tree, text, f'/zczk{n}'))
        times[FLOOR].append(
            timed(server_pid, raw_transactions, client, f'/raw{n}', tree))
        assert len(list(zk.walk(f'/zczk{n}'))) == nodes + 1
        for prefix in ('kazoo', 'zczk', 'raw'):
            zk.delete_recursive(f'/{prefix}{n}')
    medians = {name: [statistics.median(r[i] for r in t) for i in (0, 1)]
               for name, t in times.items()}
    print(f'import of {nodes} nodes, median of {rounds} rounds'
          ' (CPU: this process and the server together):')
    for name, (wall, cpu) in medians.items():
        spread = ', '.join(f'{r[0] * 1000:.0f}'
                           for r in sorted(times[name]))
        print(f'  {name:24} {wall:7.3f} s  ({nodes / wall:8.0f}'
              f' nodes/s)  CPU {cpu:6.3f} s  (rounds, ms: {spread})')
    for name in (IMPORT, FLOOR):
        ratio, cpu_ratio = (medians[SEQUENTIAL][i] / medians[name][i]
                            for i in (0, 1))
        # Each round's sides ran one right after the other: a load that
        # comes and goes cancels out of that round's ratio.
        by_round = sorted(s[0] / i[0] for s, i in
                          zip(times[SEQUENTIAL], times[name]))
        goal = (f' (goal >= 20x: {"met" if ratio >= 20 else "NOT met"})'
                if name == IMPORT else '')
        print(f'  ratio sequential/{name.split(": ")[-1]}: {ratio:.1f}x'
              f'{goal}; in CPU {cpu_ratio:.1f}x; rounds\' ratios: median'
              f' {statistics.median(by_round):.1f}x, quartiles'
              f' {by_round[len(by_round) // 4]:.1f}-'
              f'{by_round[-1 - len(by_round) // 4]:.1f}x')


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


KAZOO = 'kazoo create -> ChildrenWatch'
ZCZK = 'zc.zk register -> children()'


def bench_register(address, count, rounds):
    zk_registrar = zc.zk.ZooKeeper(address)
    zk_watcher = zc.zk.ZooKeeper(address)
    registrar = KazooClient(address)
    watcher = KazooClient(address)
    registrar.start(TIMEOUT)
    watcher.start(TIMEOUT)
    try:
        figures = {KAZOO: [], ZCZK: []}     # (p50, p99) of each round
        for round_ in range(rounds):
            # A path of its own for each round, so that every round
            # watches a list growing from 0 to ``count`` names.
            zczk_path = f'/zczk-providers{round_}'
            kazoo_path = f'/kazoo-providers{round_}'
            zk_registrar.create(zczk_path)
            registrar.create(kazoo_path)
            zk_arrivals, kazoo_arrivals = Arrivals(), Arrivals()
            zk_watcher.children(zczk_path)(zk_arrivals.update)
            watcher.ChildrenWatch(kazoo_path, kazoo_arrivals.update)

            def kazoo(name):
                start = time.perf_counter()
                registrar.create(f'{kazoo_path}/{name}',
                                 zc.zk.encode({'pid': 1}), ephemeral=True)
                return kazoo_arrivals.wait_for(name) - start

            def zczk(name):
                start = time.perf_counter()
                zk_registrar.register(zczk_path, name)
                return zk_arrivals.wait_for(name) - start

            latencies = {KAZOO: [], ZCZK: []}
            for i in range(count):
                name = f'127.0.0.1:{i + 1}'
                sides = ((KAZOO, kazoo), (ZCZK, zczk))
                for side, register in sides[::1 if i % 2 else -1]:
                    latencies[side].append(register(name))
            for side, values in latencies.items():
                figures[side].append(percentiles(values))
    finally:
        for client in (registrar, watcher):
            client.stop()
            client.close()
        zk_registrar.close()
        zk_watcher.close()
    print(f'registration visible to another session ({count} each per'
          f' round, medians of {rounds} rounds):')
    medians = {}
    for side, rows in figures.items():
        p50, p99 = (statistics.median(row[i] for row in rows)
                    for i in (0, 1))
        medians[side] = p99
        print(f'  {side:30} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms'
              f'  (round p99s: {", ".join(f"{r[1]:.2f}" for r in rows)})')
    ratio = medians[ZCZK] / medians[KAZOO]
    print(f'  ratio zc.zk/kazoo p99: {ratio:.2f} (goal <= 1.2:'
          f' {"met" if ratio <= 1.2 else "NOT met"})')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--rounds', type=int, default=11)
    parser.add_argument('--registrations', type=int, default=500,
                        help='per round and side (default 500)')
    parser.add_argument('--register-rounds', type=int, default=5)
    options = parser.parse_args(argv)
    logging.getLogger('kazoo').setLevel(logging.ERROR)
    with Server() as server:
        zk = zc.zk.ZooKeeper(server.address)
        client = KazooClient(server.address)
        client.start(TIMEOUT)
        try:
            bench_import(zk, client, server.process.pid, options.nodes,
                         options.rounds)
        finally:
            client.stop()
            client.close()
            zk.close()
        bench_register(server.address, options.registrations,
                       options.register_rounds)


if __name__ == '__main__':
    main()
