"""zc.zrs high availability under load: how fast writes resume when the
primary is killed, whether any acknowledged commit is lost, and what
synchronous replication costs.

Two databases run as ``zc-stack`` clusters of three nodes each (real
``zkrunzeo`` processes under zdaemon, 2 s ZooKeeper sessions), sharing
the ZooKeeper the first one starts: one with ``synchronous 1`` and one
asynchronous. Writers are processes of their own committing through
zc.zkzeo (``zc.stack.cluster.load``), each recording every commit the
database acknowledged.

- Commit latency and throughput, synchronous against asynchronous: one
  writer on each database at the same time for the latency (p50, p99 of
  each commit; both see the same busy machine), then ``--writers`` on
  each in turn for the throughput, over ``--rounds`` rounds.
- Failover, on the synchronous database: ``--kills`` times, with the
  writers running, SIGKILL whichever node is primary; the time from the
  kill until a writer's commit started after it succeeds (writes resume),
  and until every writer's did; then wait for the killed node to come
  back (zdaemon restarts it) and rejoin as a secondary before the next
  kill.
- Planned switchovers (``zc-stack failover``), ``--switchovers`` times
  with the writers running: how long writes paused (the longest time no
  commit completed, from the switchover's start until a commit after
  it).
- At the end, every commit a writer saw acknowledged must be on the last
  primary, and the three replicas must be byte-identical.

Goals: failover p99 < 5 s with a 2 s ZooKeeper session timeout;
synchronous commit costs < 1 ms p50 over asynchronous on loopback; 0
acknowledged commits lost; a switchover pauses writes < 1 s.

    bin/py benchmarks/zrs_failover.py [--kills N] [--writers N]
        [--switchovers N] [--rounds N] [--duration S]
"""
import argparse
import filecmp
import os
import posixpath
import shutil
import signal
import statistics
import tempfile
import time

from kazoo.exceptions import NoNodeError
from zope.testing.wait import wait

import zc.zk
import zc.zrs.election
from zc.stack.cluster import database, load
from zc.stack.cluster.cluster import Cluster, ClusterError
from zc.stack.cluster.config import Settings
from zc.stack.cluster.registry import Layout

NODES = 3
#: Seconds to wait for a whole cluster (every node serving) again.
SETTLE_TIMEOUT = 60
#: Seconds to wait for writes to resume after a kill.
RESUME_TIMEOUT = 60
#: Lines of each log shown when writes do not resume.
LOG_TAIL = 40
POLL = 0.02
GOAL_FAILOVER_P99 = 5.0
GOAL_SYNC_COST_MS = 1.0
GOAL_PAUSE = 1.0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Database:
    """A cluster of ``NODES`` database nodes in base directory ``base``."""

    def __init__(self, base, name, synchronous, zookeeper=None):
        self.name = name
        self.directory = os.path.join(base, name)
        self.cluster = Cluster(self.directory)
        roles = ['primary', 'secondary']
        if zookeeper is None:
            roles.insert(0, 'zookeeper')
        self.settings = Settings(
            zookeeper=zookeeper, path=f'/bench-{name}',
            secondaries=NODES - 1, synchronous=synchronous)
        self.state = self.cluster.up(self.settings, roles)
        self.zookeeper = self.state['zookeeper']
        self.layout = Layout(self.settings.path, self.settings.database)
        self.zk = zc.zk.ZooKeeper(self.zookeeper)
        self.writers = []

    def nodes(self):
        return database.nodes(self.zk, self.layout)

    def whole(self):
        """Every node serves: one primary, the others its secondaries."""
        nodes = self.nodes()
        return (len(nodes) == NODES
                and [n.role for n in nodes].count('primary') == 1
                and all(n.role in database.SERVING for n in nodes))

    def settle(self):
        wait(self.whole, timeout=SETTLE_TIMEOUT, wait=POLL)

    def start_writers(self, count, label):
        """``count`` writers, each with a tree of its own (a key written
        again with the same value would make an empty commit)."""
        self.writers = [
            load.Writer(self.zookeeper, self.layout.primary, f'{label}-w{i}',
                        os.path.join(self.directory, f'{label}-w{i}.log'))
            for i in range(count)]
        # Running once each has committed.
        wait(lambda: all(w.commits() for w in self.writers),
             timeout=RESUME_TIMEOUT, wait=POLL)

    def stop_writers(self):
        for writer in self.writers:
            writer.stop()
        writers, self.writers = self.writers, []
        return writers

    def show_state(self):
        """Print what explains writes that do not resume: each node's
        role and epoch, the ZooKeeper layout under the database's path,
        the writers' last errors and the ends of the node logs."""
        path = self.layout.database_path
        print(f'--- state of {self.name} ---')
        print(zc.zrs.election.status(self.zk, path))
        print(f'--- ZooKeeper under {path} ---')
        show_tree(self.zk.client, path)
        logs = [w.log + '.err' for w in self.writers]
        logs += [os.path.join(self.directory, f'zeo-{n}', 'transcript.log')
                 for n in range(1, NODES + 1)]
        for log in logs:
            print(f'--- end of {log} ---')
            print(tail(log), flush=True)

    def close(self):
        self.stop_writers()
        self.zk.close()
        self.cluster.down()


def show_tree(client, path, indent=''):
    """Print the nodes under ``path`` with their data and whose session
    owns each ephemeral one."""
    try:
        data, stat = client.get(path)
        children = client.get_children(path)
    except NoNodeError:
        return
    owner = (f' (session {stat.ephemeralOwner:#x})' if stat.ephemeralOwner
             else '')
    print(f'{indent}{posixpath.basename(path) or "/"}{owner}:'
          f' {data.decode(errors="replace")[:300]}')
    for child in sorted(children):
        show_tree(client, posixpath.join(path, child), indent + '  ')


def tail(path, lines=LOG_TAIL):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except FileNotFoundError:
        return '(none)'


def measure_round(dbs, writers, duration, label):
    """For each of ``dbs`` at once: commits per second, and each
    commit's latency (seconds), of ``writers`` writers over ``duration``
    seconds (commits that ended in the window from the moment all were
    committing)."""
    for db in dbs:
        db.start_writers(writers, label)
    start = time.monotonic()
    time.sleep(duration)
    end = time.monotonic()
    results = []
    for db in dbs:
        commits = [c for w in db.stop_writers() for c in w.commits()
                   if start <= c.end <= end]
        results.append((len(commits) / (end - start),
                        [c.end - c.start for c in commits]))
    return results


def commit_costs(dbs, options):
    """Latency and throughput of each database: the latency of one
    writer on each database at the same time (both see the same machine),
    the throughput of ``options.writers`` on one database at a time
    (alternating: they would compete for the processors)."""
    results = {db.name: dict(latency=[], throughput=[]) for db in dbs}
    for number in range(options.rounds):
        latencies = measure_round(dbs, 1, options.duration,
                                  f'latency{number}')
        for db, (_, measured) in zip(dbs, latencies):
            results[db.name]['latency'] += measured
        for db in dbs:
            [(throughput, _)] = measure_round([db], options.writers,
                                              options.duration,
                                              f'throughput{number}')
            results[db.name]['throughput'].append(throughput)
        print(f'round {number + 1}: latency p50 ' + ', '.join(
            f'{db.name} {statistics.median(measured) * 1000:.2f} ms'
            for db, (_, measured) in zip(dbs, latencies))
            + f'; {options.writers} writers ' + ', '.join(
            f"{db.name} {results[db.name]['throughput'][-1]:.0f} commits/s"
            for db in dbs), flush=True)
    return results


def primary_process(db):
    """The pid of the node serving as primary."""
    primary = database.primary(db.nodes())
    return primary and primary.pid


def failovers(db, options):
    """Kill the primary ``options.kills`` times under load; return the
    times of the kills after which writes resumed, the writers, and why
    the kills stopped early (or None)."""
    db.settle()
    db.start_writers(options.writers, 'kills')
    kills = []
    for number in range(options.kills):
        db.settle()
        pid = primary_process(db)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)

        def resumed():
            return any(c.start > killed for w in db.writers
                       for c in w.commits())
        try:
            wait(resumed, timeout=RESUME_TIMEOUT, wait=POLL)
        except wait.TimeOutWaitingFor:
            problem = (f'writes did not resume within {RESUME_TIMEOUT} s of'
                       f' kill {number + 1}')
            print(f'kill {number + 1:2}: FAILED: {problem}', flush=True)
            db.show_state()
            return kills, db.stop_writers(), problem
        kills.append(killed)
        resume = time.monotonic() - killed
        db.settle()   # the killed node is back, as a secondary
        print(f'kill {number + 1:2}: writes resumed after ~{resume:.2f} s,'
              f' cluster whole again after {time.monotonic() - killed:.2f}'
              ' s', flush=True)
    return kills, db.stop_writers(), None


def switchovers(db, options):
    """``options.switchovers`` planned switchovers (``zc-stack
    failover``) under load; return each one's ``(start, end)``, the
    writers, and why the switchovers stopped early (or None)."""
    db.settle()
    db.start_writers(options.writers, 'switchovers')
    windows = []
    for number in range(options.switchovers):
        db.settle()
        start = time.monotonic()
        try:
            new = db.cluster.failover()
        except ClusterError as error:
            print(f'switchover {number + 1:2}: FAILED: {error}', flush=True)
            return windows, db.stop_writers(), str(error)
        end = time.monotonic()
        try:
            wait(lambda: any(c.start > end for w in db.writers
                             for c in w.commits()),
                 timeout=RESUME_TIMEOUT, wait=POLL)
        except wait.TimeOutWaitingFor:
            problem = (f'writes did not resume within {RESUME_TIMEOUT} s of'
                       f' switchover {number + 1} (to {new.name})')
            print(f'switchover {number + 1:2}: FAILED: {problem}',
                  flush=True)
            db.show_state()
            return windows, db.stop_writers(), problem
        windows.append((start, end))
        print(f'switchover {number + 1:2}: {new.name} primary of epoch'
              f' {new.epoch} after {end - start:.2f} s', flush=True)
    return windows, db.stop_writers(), None


def pauses(windows, writers):
    """For each switchover: the longest time no writer's commit
    completed, from its start until the first commit after it."""
    ends = sorted(c.end for w in writers for c in w.commits())
    found = []
    for start, end in windows:
        after = next(e for e in ends if e > end)
        inside = [start] + [e for e in ends if start < e <= after]
        found.append(max(b - a for a, b in zip(inside, inside[1:])))
    return found


def resume_times(kills, writers):
    """For each kill: seconds until the first commit started after it
    succeeded, and until every writer had such a commit."""
    first, every = [], []
    per_writer = [w.commits() for w in writers]
    for killed in kills:
        ends = [min((c.end for c in commits if c.start > killed),
                    default=None) for commits in per_writer]
        ends = [end for end in ends if end is not None]
        first.append(min(ends) - killed)
        every.append(max(ends) - killed if len(ends) == len(writers)
                     else float('inf'))
    return first, every


def lost_commits(db, writers):
    import zc.zkzeo
    client = zc.zkzeo.DB(db.zookeeper, db.layout.primary)
    try:
        return sum(len(seqs) for seqs in load.missing(client,
                                                      writers).values())
    finally:
        client.close()


def replicas_identical(db):
    """Once every node has the primary's last transaction, whether their
    data files hold the same bytes."""
    paths = [os.path.join(db.directory, f'zeo-{n}', 'Data.fs')
             for n in range(1, NODES + 1)]

    def same():
        return all(filecmp.cmp(paths[0], p, shallow=False)
                   for p in paths[1:])
    try:
        wait(same, timeout=SETTLE_TIMEOUT, wait=0.2)
    except wait.TimeOutWaitingFor:
        return False
    return True


def report(costs, first, every, stalled, paused, failed, lost,
           identical, options):
    sync, asynchronous = costs['synchronous'], costs['asynchronous']
    sync_p50 = statistics.median(sync['latency']) * 1000
    async_p50 = statistics.median(asynchronous['latency']) * 1000
    p50, p99 = ((statistics.median(first), percentile(first, 0.99))
                if first else (float('inf'), float('inf')))
    rows = [
        ('kills done', f'{len(first)} of {options.kills}',
         f'then: {stalled}' if stalled else ''),
        ('failover: kill -> a commit succeeds, p50', f'{p50:.2f} s', ''),
        ('failover: kill -> a commit succeeds, p99', f'{p99:.2f} s',
         f'< {GOAL_FAILOVER_P99:g} s: '
         + ('met' if p99 < GOAL_FAILOVER_P99 else 'NOT MET')),
        ('failover: kill -> every writer commits, p50',
         f'{statistics.median(every):.2f} s' if every else '-', ''),
        ('failover: kill -> every writer commits, p99',
         f'{percentile(every, 0.99):.2f} s' if every else '-', ''),
        ('switchovers done', f'{len(paused)} of {options.switchovers}',
         f'then: {failed}' if failed else ''),
        ('switchover: writes paused, p50',
         f'{statistics.median(paused):.2f} s' if paused else '-', ''),
        ('switchover: writes paused, p99',
         f'{percentile(paused, 0.99):.2f} s' if paused else '-',
         f'< {GOAL_PAUSE:g} s: ' + (
             'met' if paused and percentile(paused, 0.99) < GOAL_PAUSE
             else 'NOT MET')),
        ('acknowledged commits lost (synchronous)', f'{lost}',
         '0: ' + ('met' if lost == 0 else 'NOT MET')),
        ('replicas byte-identical at the end', 'yes' if identical else 'NO',
         ''),
        ('commit latency p50, asynchronous', f'{async_p50:.2f} ms', ''),
        ('commit latency p50, synchronous', f'{sync_p50:.2f} ms', ''),
        ('synchronous cost, p50', f'{sync_p50 - async_p50:+.2f} ms',
         f'< {GOAL_SYNC_COST_MS:g} ms: ' + (
             'met' if sync_p50 - async_p50 < GOAL_SYNC_COST_MS
             else 'NOT MET')),
        ('commit latency p99, asynchronous / synchronous',
         f"{percentile(asynchronous['latency'], 0.99) * 1000:.2f} /"
         f" {percentile(sync['latency'], 0.99) * 1000:.2f} ms", ''),
        (f'throughput, {options.writers} writers, asynchronous',
         f"{statistics.median(asynchronous['throughput']):,.0f} commits/s",
         ''),
        (f'throughput, {options.writers} writers, synchronous',
         f"{statistics.median(sync['throughput']):,.0f} commits/s",
         'ratio {:.2f}'.format(statistics.median(sync['throughput'])
                               / statistics.median(
                                   asynchronous['throughput']))),
    ]
    width = max(len(row[0]) for row in rows)
    print(f'\n{options.kills} kills, {len(paused)} switchovers,'
          f' {options.writers} writers, {NODES} nodes')
    for what, figure, goal in rows:
        print(f'{what:<{width}}  {figure:>18}  {goal}'.rstrip())


def main(args=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kills', type=int, default=20)
    parser.add_argument('--switchovers', type=int, default=10)
    parser.add_argument('--writers', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--duration', type=float, default=3.0,
                        help='seconds of each latency/throughput round')
    parser.add_argument('--keep', action='store_true',
                        help="keep the clusters' directories (logs, data)")
    options = parser.parse_args(args)
    base = tempfile.mkdtemp(prefix='zrs-failover-')
    dbs = []
    try:
        dbs.append(Database(base, 'synchronous', 1))
        dbs.append(Database(base, 'asynchronous', 0, dbs[0].zookeeper))
        costs = commit_costs(dbs, options)
        kills, killing, stalled = failovers(dbs[0], options)
        first, every = resume_times(kills, killing)
        windows, switching, failed = switchovers(dbs[0], options)
        paused = pauses(windows, switching)
        lost = lost_commits(dbs[0], killing + switching)
        identical = replicas_identical(dbs[0])
        report(costs, first, every, stalled, paused, failed, lost,
               identical, options)
    finally:
        for db in reversed(dbs):
            db.close()
        if options.keep:
            print(f'kept {base}')
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    main()
