"""zc.zrs replication against the original zc.zrs 3.1.0, in the same run.

Each side runs its primary and its secondary in processes of their own,
on loopback (the original in its peer venv, ZODB 5.5.1):

- commit throughput of a primary with one secondary attached, against a
  plain FileStorage in the same process (small DB-API commits, in
  ``--rounds`` pairs of blocks of ``--commits``, plain first then attached
  first, alternately; the secondary catches up, untimed, after each
  attached block): the median of the pairs' ratios and their IQR;
- how long after a burst's last commit the secondary has it;
- catch-up of an existing history (small commits plus 256 KiB records) by
  a secondary started afterwards (includes connecting);
- replication lag of isolated commits (10 ms apart): median, p95, p99
  over the commits of every run.

The CPU time per commit of the primary's process (plain and attached)
and of the secondary's process (per replicated commit, polling included)
shows what replication costs in CPU: on a 2-core machine shared with
other work, the secondary's CPU is taken from what the primary could use.

The two sides run alternately ``--repeat`` times; every figure is the
median over the repeats, except attached/plain and the lags, taken over
the samples of every repeat. Goals (issue 19): burst
completion no later than the original's; attached >= 95% of plain;
catch-up >= 5x the original's; p99 lag < 1 ms. Every replica is checked
byte-identical to its primary.

Where a goal depends on the machine, the run also measures its limit
(with our Python, under the same load): the latency of isolated messages
between the two processes on a plain loopback socket, to the receiving
thread (one hop: the floor under any design's lag) and through the same
thread hand-offs as a replicated commit but without any work (the floor
under ours), in chunks alternating with the isolated commits, and how
fast the storage API the secondary applies through restores the
catch-up history from memory (the ceiling over catch-up). Beside each
throughput pair it times a third block, the floor under attached/plain:
plain commits each followed by the least any replicating primary does
(the committing thread sending a small transaction's bytes to the other
process, a loop thread receiving its acknowledgement), without zc.zrs;
its rate over the pair's plain rate bounds attached/plain on this
machine. For every kind of block it shows where the committing thread's
time goes per commit: in fsync (the secondary's fsyncs on the same disk
make the primary's longer: a bound on attached/plain by itself), CPU and
waiting for a core outside it (the secondary's process takes a core of
two), and the rest (GIL, locks).

``--stages`` only times our isolated commits stage by stage (from the
storage's tpc_finish to the lag watcher, through the loops, send() and
the applier), beside the floor: where the lag goes, and its tail; also
when each commit returned (the lag above starts there, not at the
durable end) and how long decoding one such transaction takes in memory
back to back and after 10 ms idle (an isolated commit's decoding runs
cold: several times the back-to-back figure).

    bin/py benchmarks/zrs_replication.py [--rounds N] [--commits N]
        [--history N] [--isolated N] [--repeat N] [--stages]
"""
import argparse
import filecmp
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from zc.stack import peers
from zc.zk.testing import free_port

WORKER = pathlib.Path(__file__).with_name('zrs_worker.py')
TIMEOUT = 600


class Worker:

    def __init__(self, python, env, *args):
        self.process = subprocess.Popen(
            [python, str(WORKER), *map(str, args)], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.ask(None) == 'ready'

    def ask(self, command):
        if command is not None:
            self.process.stdin.write(command + '\n')
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f'worker died: {self.process.args}')
        return json.loads(line)

    def close(self):
        self.process.stdin.write('quit\n')
        self.process.stdin.close()
        self.process.wait(TIMEOUT)


def hop_latencies(primary, secondary, count):
    """Milliseconds from send to receipt of isolated messages between the
    two worker processes (see zrs_worker.ping), sorted: by the receiving
    thread (one hop) and by the lag watcher (the same hops as a
    replicated commit)."""
    port = secondary.ask('listen')
    sent = primary.ask(f'ping {port} {count} 0.01')
    deadline = time.monotonic() + 30
    arrived, seen = secondary.ask('pings')
    while len(seen) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
        arrived, seen = secondary.ask('pings')
    return [sorted((r - s) * 1000 for s, r in zip(sent, received))
            for received in (arrived, seen)]


def percentile(ordered, fraction):
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


#: The stages of an isolated commit's replication, each from the end of
#: the one before (see zrs_worker.trace_primary and trace_secondary).
STAGES = (
    ('loop', 'commit durable -> sending starts'),
    ('filled', 'read, encode'),
    ('sent', 'send()'),
    ('received', 'send() -> secondary loop has it'),
    ('dequeued', 'secondary loop -> applier thread'),
    ('applying', 'applier: decode'),
    ('applied', 'applier: restore, tpc_finish'),
    ('seen', 'applied -> lag watcher sees it'),
)


def stage_times(primary_events, secondary_events, seen, returned):
    """Per replicated transaction, the time of each stage (``durable``,
    then STAGES) and when its commit returned (``returned``): the step an
    event belongs to is the last of its kind before the one that names the
    transaction."""
    times = {}
    last = {}
    for stage, when, tid in primary_events:
        last[stage] = when
        if stage == 'durable':
            times[tid] = {'durable': when}
        elif stage == 'sent' and tid in times and 'sent' not in times[tid]:
            times[tid].update(loop=last['loop'], filled=last['filled'],
                              sent=when)
    last = {}
    for stage, when, tid in secondary_events:
        last[stage] = when
        if stage == 'applying' and tid in times:
            times[tid].update(received=last['received'],
                              dequeued=last['dequeued'], applying=when)
        elif stage == 'applied' and tid in times:
            times[tid]['applied'] = when
    for tid, stages in times.items():
        if tid in seen:
            stages['seen'] = seen[tid]
        if tid in returned:
            stages['returned'] = returned[tid]
    names = ['durable', 'returned'] + [name for name, _ in STAGES]
    return [stages for stages in times.values()
            if all(name in stages for name in names)]


def stage_breakdown(python, env, directory, options):
    """Our isolated commits' lag, stage by stage: a table of each
    stage's distribution and how the slowest 1% spend their time, beside
    the floor (isolated messages through the same hops without work),
    measured in alternating chunks. The lag the main run reports starts
    when the commit returns, which is after ``sent`` (the committing
    thread sends): two lines show both ends, since whatever delays that
    thread after the send (the secondary's loop taking its core, say)
    moves part of the replication out of the reported lag. The decode
    stage is compared with the same decoding in memory, back to back and
    one transaction after each pause, as isolated commits come."""
    port = free_port()
    primary = Worker(python, env, 'primary',
                     os.path.join(directory, 'p.fs'), port,
                     os.path.join(directory, 'plain.fs'))
    secondary = Worker(python, env, 'secondary',
                       os.path.join(directory, 's.fs'), port)
    secondary.ask(f'wait {primary.ask("commit 1 0")[1]}')
    primary.ask('trace')
    secondary.ask('trace')
    secondary.ask('watch')
    floors = [], []
    returned = {}
    chunk = max(1, options.isolated // 5)
    for _ in range(5):
        done = primary.ask(f'isolated {chunk} 0.01')
        returned.update(done)
        secondary.ask(f'wait {done[-1][0]}')
        for floor, values in zip(floors,
                                 hop_latencies(primary, secondary, chunk)):
            floor.extend(values)
    transactions = stage_times(primary.ask('stages'),
                               secondary.ask('stages'),
                               secondary.ask('seen'), returned)
    secondary.close()
    primary.close()
    names = ['durable'] + [name for name, _ in STAGES]
    total = sorted((t['seen'] - t['durable']) * 1000 for t in transactions)
    slow = [t for t in transactions
            if (t['seen'] - t['durable']) * 1000 >= percentile(total, 0.99)]
    print(f'lag stages of {len(transactions)} isolated commits (ms); '
          f'"slowest 1%": mean over the {len(slow)} slowest')
    print(f'{"stage":42} {"p50":>7} {"p90":>7} {"p99":>7} {"max":>7} '
          f'{"slowest 1%":>10}')
    rows = [(f'{name}: {label}', before, name)
            for (name, label), before in zip(STAGES, names)]
    rows.append(('total: durable -> seen', 'durable', 'seen'))
    rows.append(('commit returns: durable -> returned', 'durable',
                 'returned'))
    rows.append(('reported lag: returned -> seen', 'returned', 'seen'))
    for label, before, after in rows:
        ms = sorted((t[after] - t[before]) * 1000 for t in transactions)
        worst = statistics.mean((t[after] - t[before]) * 1000 for t in slow)
        print(f'{label:42} {statistics.median(ms):7.3f} '
              f'{percentile(ms, 0.9):7.3f} {percentile(ms, 0.99):7.3f} '
              f'{ms[-1]:7.3f} {worst:10.3f}')
    for label, floor in zip(('floor: one hop, no work',
                             'floor: same hops, no work'), floors):
        floor.sort()
        print(f'{label:42} {statistics.median(floor):7.3f} '
              f'{percentile(floor, 0.9):7.3f} {percentile(floor, 0.99):7.3f} '
              f'{floor[-1]:7.3f}')
    hot, idle = decode_alone(os.path.join(directory, 'p.fs'), 0.01)
    print(f'decoding one of these transactions in memory (p50, ms): '
          f'back to back {hot:.4f}, after 10 ms idle each {idle:.4f}')


#: Where the committing thread's time goes (see zrs_worker.Timing).
TIMING = ('wall', 'fsync', 'thread CPU', 'waiting for a core')


def throughput(primary, secondary, options, figures, limits):
    """Plain and attached blocks of commits in interleaved pairs (plain
    first, then attached first, ...), each attached block followed,
    untimed, by the secondary catching up: neither kind of block pays
    for the other's replication, and both see the same machine. With
    ``limits``, a floor block follows each pair (see zrs_worker.floor)."""
    plain, attached, ratios, complete, floors = [], [], [], [], []
    cpu = {'plain': [], 'attached': [], 'secondary': []}
    timings = {'plain': [], 'attached': []}
    if limits:
        cpu['floor'] = []
        timings['floor'] = []
    for pair in range(options.rounds):
        rates = {}
        for kind in (('plain', 'attached') if pair % 2 == 0
                     else ('attached', 'plain')):
            if kind == 'plain':
                rates[kind], _, _, used, timing = primary.ask(
                    f'plain {options.commits} 0')
                cpu['plain'].append(used)
                timings['plain'].append(timing)
                continue
            secondary_cpu = secondary.ask('cpu')
            rates[kind], last, finished, used, timing = primary.ask(
                f'commit {options.commits} 0')
            cpu['attached'].append(used)
            timings['attached'].append(timing)
            done_at, _, _ = secondary.ask(f'wait {last}')
            complete.append(done_at - finished)
            cpu['secondary'].append(
                (secondary.ask('cpu') - secondary_cpu) / options.commits)
        plain.append(rates['plain'])
        attached.append(rates['attached'])
        ratios.append(rates['attached'] / rates['plain'])
        if limits:
            port = secondary.ask('sink')
            rate, _, _, used, timing = primary.ask(
                f'floor {port} {options.commits}')
            cpu['floor'].append(used)
            timings['floor'].append(timing)
            floors.append(rate / rates['plain'])
    figures['plain tx/s'] = statistics.median(plain)
    figures['attached tx/s'] = statistics.median(attached)
    figures['attached/plain'] = ratios  # pooled over the runs
    if limits:
        figures['floor attached/plain'] = floors
    figures['complete after burst ms'] = statistics.median(complete) * 1000
    for name, values in cpu.items():
        figures[f'CPU us/commit {name}'] = statistics.median(values) * 1e6
    for name, values in timings.items():
        for part, label in enumerate(TIMING):
            figures[f'{label} us/commit {name}'] = statistics.median(
                timing[part] for timing in values)


def lags(primary, secondary, options, figures, limits):
    """Isolated commits 10 ms apart: milliseconds from the commit's return
    to the secondary having it; with ``limits``, alternating with chunks
    of the floor's messages (see hop_latencies)."""
    secondary.ask('watch')
    figures['lag ms'], one, same = [], [], []
    chunk = max(1, options.isolated // 5)
    for _ in range(5):
        done = primary.ask(f'isolated {chunk} 0.01')
        secondary.ask(f'wait {done[-1][0]}')
        seen = secondary.ask('seen')
        figures['lag ms'].extend((seen[tid] - t) * 1000
                                 for tid, t in done if tid in seen)
        if limits:
            arrived, watched = hop_latencies(primary, secondary, chunk)
            one.extend(arrived)
            same.extend(watched)
    if limits:
        figures['one hop, no work ms'] = one
        figures['same hops, no work ms'] = same


def encoded_transactions(path):
    """The transactions of the data file ``path``, each encoded as our
    primary sends it."""
    from zc.zrs import filescan
    from zc.zrs import protocol
    data_file = filescan.DataFile(path)
    data_file.limit = os.path.getsize(path)
    encoder = protocol.Encoder(bytes(8))
    pos = filescan.FILE_START
    encoded = []
    while pos < data_file.limit:
        txn = data_file.transaction_at(pos)
        list(encoder.transaction(txn, data_file.records(txn)))
        encoded.append(encoder.take())
        pos = data_file.next_position(txn)
    data_file.close()
    return encoded


def decode_alone(path, idle):
    """Milliseconds our secondary's decoder takes per transaction of the
    data file ``path`` fed on its own (median): back to back, and after
    ``idle`` seconds each, as isolated commits arrive (caches and
    predictors gone cold, without any tracing)."""
    from zc.zrs import protocol
    transactions = encoded_transactions(path)
    medians = []
    for pause in (0, idle):
        decoder = protocol.StreamDecoder(bytes(8))
        times = []
        for data in transactions:
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            decoder.feed(data)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times) * 1000)
    return medians


def decode_seconds(path):
    """How long our secondary's decoder takes over the transactions of
    the data file ``path`` (encoded as our primary sends them, in 256 KiB
    reads as the loop receives them), from memory (the best of three
    passes): with restore-only, the secondary's own work during a
    catch-up, in one thread."""
    from zc.zrs import protocol
    data = b''.join(encoded_transactions(path))
    reads = [data[i:i + (256 << 10)] for i in range(0, len(data), 256 << 10)]
    best = None
    for _ in range(3):  # the best of three passes
        decoder = protocol.StreamDecoder(bytes(8))
        start = time.perf_counter()
        for read in reads:
            decoder.feed(read)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return best


def run(python, env, directory, options, limits):
    path = lambda n: os.path.join(directory, n)  # noqa: E731
    figures = {}
    port = free_port()
    primary = Worker(python, env, 'primary', path('p.fs'), port,
                     path('plain.fs'))
    secondary = Worker(python, env, 'secondary', path('s.fs'), port)
    last = primary.ask('commit 1 0')[1]
    secondary.ask(f'wait {last}')
    throughput(primary, secondary, options, figures, limits)
    lags(primary, secondary, options, figures, limits)
    secondary.close()
    primary.close()
    figures['identical'] = filecmp.cmp(path('p.fs'), path('s.fs'), False)

    port = free_port()
    primary = Worker(python, env, 'primary', path('h.fs'), port,
                     path('plain2.fs'))
    primary.ask(f'commit {options.history} 0')
    for _ in range(options.history // 50):
        primary.ask('commit 1 262144')
    last = primary.ask('commit 1 0')[1]
    size = os.path.getsize(path('h.fs'))
    transactions = options.history + options.history // 50 + 2
    primary_cpu = primary.ask('cpu')
    secondary = Worker(python, env, 'secondary', path('hs.fs'), port)
    _, seconds, secondary_cpu = secondary.ask(f'wait {last}')
    primary_cpu = primary.ask('cpu') - primary_cpu
    secondary.close()
    figures['catch-up txn/s'] = transactions / seconds
    figures['catch-up MB/s'] = size / seconds / 1e6
    # Cores each process kept busy (1.0: one whole core), from the
    # secondary's start; the primary's includes its wait for it.
    figures['catch-up cores primary'] = primary_cpu / seconds
    figures['catch-up cores secondary'] = secondary_cpu / seconds
    if limits:
        count, seconds = primary.ask('restore')
        figures['restore-only txn/s'] = count / seconds
        figures['decode-only txn/s'] = count / decode_seconds(path('h.fs'))
    primary.close()
    figures['identical'] &= filecmp.cmp(path('h.fs'), path('hs.fs'), False)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--commits', type=int, default=200,
                        help='commits per throughput block')
    parser.add_argument('--rounds', type=int, default=30,
                        help='pairs of plain and attached blocks per run')
    parser.add_argument('--history', type=int, default=5000)
    parser.add_argument('--isolated', type=int, default=500)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of each side, alternating')
    parser.add_argument('--stages', action='store_true',
                        help='only time the stages of our isolated '
                        'commits\' lag')
    parser.add_argument('--switch-interval', type=float,
                        help="our workers' sys.setswitchinterval (the GIL's"
                        ' switch interval, default 0.005 s)')
    options = parser.parse_args()
    ours_env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    if options.switch_interval is not None:
        ours_env['ZRS_SWITCH_INTERVAL'] = str(options.switch_interval)
    if options.stages:
        with tempfile.TemporaryDirectory() as directory:
            stage_breakdown(sys.executable, ours_env, directory, options)
        return
    original = peers.peer_python(
        'zc.zrs-3.1.0', ['zc.zrs==3.1.0', 'ZODB==5.5.1', 'ZEO==5.3.0'],
        pre_install=('pip', 'setuptools<81'))
    peer_env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    runs = {'ours': [], 'original': []}
    for _ in range(options.repeat):
        for name, python, env in (('ours', sys.executable, ours_env),
                                  ('original', str(original), peer_env)):
            with tempfile.TemporaryDirectory() as directory:
                runs[name].append(run(python, env, directory, options,
                                      limits=name == 'ours'))
    ours, theirs = (summary(runs[name]) for name in runs)
    print(f'{options.repeat} runs of each side, alternating; throughput: '
          f'{options.rounds} interleaved pairs of {options.commits}-commit '
          f'blocks per run; figures: medians over the runs, or over every '
          f'sample of every run [IQR: p25-p75]')
    print(f'{"figure":30} {"ours":>12} {"original":>12} {"ratio":>8}')
    for key in ours:
        if key.split(' us/commit')[0] in TIMING:
            continue  # in the table below
        if key not in theirs:
            print(f'{key:30} {ours[key]:12.2f}')
            continue
        ratio = ours[key] / theirs[key] if theirs[key] else float('nan')
        print(f'{key:30} {ours[key]:12.2f} {theirs[key]:12.2f} '
              f'{ratio:8.2f}')
    print("the committing thread's time per commit (us, medians over the "
          'blocks of every run): wall = fsync + thread CPU and waiting for a '
          'core outside fsync + other waiting (GIL, locks, writes)')
    print(f'{"block":20}' + ''.join(f'{label:>20}'
                                    for label in TIMING + ('other',)))
    for name, figures in (('ours', ours), ('original', theirs)):
        for kind in ('plain', 'attached', 'floor'):
            if f'wall us/commit {kind}' not in figures:
                continue
            parts = [figures[f'{label} us/commit {kind}']
                     for label in TIMING]
            print(f'{name + " " + kind:20}' + ''.join(
                f'{part:20.0f}' for part in parts + [parts[0] - sum(parts[1:])]))
    wall = ours['wall us/commit plain']
    slower = ours['fsync us/commit attached'] - ours['fsync us/commit plain']
    print(f'bound on attached/plain from the fsync alone: the secondary\'s '
          f'fsyncs on the same disk make ours {slower:.0f} us/commit longer:'
          f' {wall:.0f} / {wall + slower:.0f} = '
          f'{wall / (wall + slower):.2f}')
    spread = {name: {key: quartiles(sum((r[key] for r in runs[name]), []))
                     for key in ('attached/plain', 'lag ms')}
              for name in runs}
    for key in ('attached/plain', 'lag ms'):
        print(f'{key} [IQR] over all samples: ' + '; '.join(
            f'{name} {spread[name][key][1]:.2f} '
            f'[{spread[name][key][0]:.2f}-{spread[name][key][2]:.2f}]'
            for name in runs))
    floor = quartiles(sum((r['floor attached/plain'] for r in runs['ours']),
                          []))
    print(f'floor attached/plain [IQR] over all samples: ours {floor[1]:.2f} '
          f'[{floor[0]:.2f}-{floor[2]:.2f}]')
    for key, figure in (('attached/plain', statistics.median),
                        ('complete after burst ms', None),
                        ('lag ms', lambda v: percentile(sorted(v), 0.99)),
                        ('catch-up txn/s', None)):
        label = 'lag p99 ms' if key == 'lag ms' else key
        print(f'{label} per run: ' + '; '.join(
            f'{name} ' + ' '.join(
                f'{(figure(r[key]) if figure else r[key]):.2f}'
                for r in runs[name]) for name in runs))
    identical = all(r['identical'] for name in runs for r in runs[name])
    catch_up = ours['catch-up txn/s'] / theirs['catch-up txn/s']
    print(f'replicas byte-identical in every run: {identical}')
    burst = ours['complete after burst ms']
    their_burst = theirs['complete after burst ms']
    print('goals (issue 19): '
          f'burst completion {burst:.2f} ms <= the original\'s '
          f'{their_burst:.2f} ms: {verdict(burst <= their_burst)}; '
          f'attached/plain {ours["attached/plain"]:.2f} >= 0.95: '
          f'{verdict(ours["attached/plain"] >= 0.95)}; '
          f'catch-up {catch_up:.2f}x >= 5x: {verdict(catch_up >= 5)}; '
          f'p99 lag {ours["lag p99 ms"]:.2f} ms < 1 ms: '
          f'{verdict(ours["lag p99 ms"] < 1)}')
    ceiling = 1 / (1 / ours['restore-only txn/s']
                   + 1 / ours['decode-only txn/s'])
    print(f'limits: p99 of a message between the processes, no work: '
          f'{ours["one hop, no work p99 ms"]:.2f} ms (one hop), '
          f'{ours["same hops, no work p99 ms"]:.2f} ms (the same hops as '
          f'a commit); '
          f'restore-only {ours["restore-only txn/s"]:.0f} txn/s = '
          f'{ours["restore-only txn/s"] / theirs["catch-up txn/s"]:.2f}x '
          f'the original\'s catch-up (over ours); decode + restore from '
          f'memory in one thread (the secondary\'s own work) '
          f'{ceiling:.0f} txn/s = {ceiling / theirs["catch-up txn/s"]:.2f}x '
          f'(ours reaches {ours["catch-up txn/s"] / ceiling:.0%} of it); '
          f'while catching up the '
          f'secondary keeps {ours["catch-up cores secondary"]:.2f} core busy '
          f'(1.00: a whole one; its GIL), the primary '
          f'{ours["catch-up cores primary"]:.2f}; attached/plain of plain '
          f'commits that only send their bytes to a process that fsyncs '
          f'them and acknowledges, no zc.zrs: '
          f'{ours["floor attached/plain"]:.2f} '
          f'(CPU {ours["CPU us/commit floor"]:.0f} us/commit, plain '
          f'{ours["CPU us/commit plain"]:.0f})')


def verdict(met):
    return 'met' if met else 'missed'


def quartiles(values):
    """p25, median, p75."""
    return statistics.quantiles(values, n=4, method='inclusive')


def summary(runs):
    """One figure per key: the median over the runs, or for samples
    pooled over the runs (lists), their median, or percentiles of the
    lags and the floors."""
    figures = {}
    for key in runs[0]:
        if key == 'identical':
            continue
        values = [r[key] for r in runs]
        if not isinstance(values[0], list):
            figures[key] = statistics.median(values)
            continue
        pooled = sorted(sum(values, []))
        if key.endswith('attached/plain'):
            figures[key] = statistics.median(pooled)
            continue
        name = key[:-len(' ms')]
        figures[f'{name} p50 ms'] = statistics.median(pooled)
        if key == 'lag ms':
            figures[f'{name} p95 ms'] = percentile(pooled, 0.95)
        figures[f'{name} p99 ms'] = percentile(pooled, 0.99)
    return figures


if __name__ == '__main__':
    main()
