"""zc.zrs replication against the original zc.zrs 3.1.0, in the same run.

Each side runs its primary and its secondary in processes of their own,
on loopback (the original in its peer venv, ZODB 5.5.1):

- commit throughput of a primary with one secondary attached, against a
  plain FileStorage in the same process (small DB-API commits, rounds
  alternating between the two);
- how long after a burst's last commit the secondary has it;
- catch-up of an existing history (small commits plus 256 KiB records) by
  a secondary started afterwards (includes connecting);
- replication lag of isolated commits (10 ms apart): median, p95, p99.

Goals (spec): attached >= 90% of plain; catch-up >= 3x the original's;
p99 lag < 10 ms. Every replica is checked byte-identical to its primary.

    bin/py benchmarks/zrs_replication.py [--commits N] [--history N]
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


def run(python, env, directory, options):
    path = lambda n: os.path.join(directory, n)  # noqa: E731
    figures = {}
    port = free_port()
    primary = Worker(python, env, 'primary', path('p.fs'), port,
                     path('plain.fs'))
    secondary = Worker(python, env, 'secondary', path('s.fs'), port)
    _, last, _ = primary.ask('commit 1 0')
    secondary.ask(f'wait {last}')
    plain, attached, complete = [], [], []
    for _ in range(options.rounds):
        plain.append(primary.ask(f'plain {options.commits} 0')[0])
        rate, last, finished = primary.ask(f'commit {options.commits} 0')
        attached.append(rate)
        done_at, _ = secondary.ask(f'wait {last}')
        complete.append(done_at - finished)
    figures['plain tx/s'] = statistics.median(plain)
    figures['attached tx/s'] = statistics.median(attached)
    figures['attached/plain'] = statistics.median(
        a / p for a, p in zip(attached, plain))
    figures['complete after burst ms'] = statistics.median(complete) * 1000
    secondary.ask('watch')
    done = primary.ask(f'isolated {options.isolated} 0.01')
    secondary.ask(f'wait {done[-1][0]}')
    seen = secondary.ask('seen')
    lags = sorted((seen[tid] - t) * 1000 for tid, t in done if tid in seen)
    figures['lag median ms'] = statistics.median(lags)
    figures['lag p95 ms'] = lags[int(len(lags) * 0.95) - 1]
    figures['lag p99 ms'] = lags[int(len(lags) * 0.99) - 1]
    secondary.close()
    primary.close()
    figures['identical'] = filecmp.cmp(path('p.fs'), path('s.fs'), False)

    port = free_port()
    primary = Worker(python, env, 'primary', path('h.fs'), port,
                     path('plain2.fs'))
    primary.ask(f'commit {options.history} 0')
    for _ in range(options.history // 50):
        primary.ask('commit 1 262144')
    _, last, _ = primary.ask('commit 1 0')
    size = os.path.getsize(path('h.fs'))
    transactions = options.history + options.history // 50 + 2
    secondary = Worker(python, env, 'secondary', path('hs.fs'), port)
    _, seconds = secondary.ask(f'wait {last}')
    secondary.close()
    primary.close()
    figures['catch-up txn/s'] = transactions / seconds
    figures['catch-up MB/s'] = size / seconds / 1e6
    figures['identical'] &= filecmp.cmp(path('h.fs'), path('hs.fs'), False)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--commits', type=int, default=500,
                        help='commits per throughput round')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--history', type=int, default=5000)
    parser.add_argument('--isolated', type=int, default=300)
    options = parser.parse_args()
    original = peers.peer_python(
        'zc.zrs-3.1.0', ['zc.zrs==3.1.0', 'ZODB==5.5.1', 'ZEO==5.3.0'],
        pre_install=('pip', 'setuptools<81'))
    ours_env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    peer_env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    results = {}
    for name, python, env in (('ours', sys.executable, ours_env),
                              ('original', str(original), peer_env)):
        with tempfile.TemporaryDirectory() as directory:
            results[name] = run(python, env, directory, options)
    ours, theirs = results['ours'], results['original']
    print(f'{"figure":28} {"ours":>12} {"original":>12} {"ratio":>8}')
    for key in ours:
        if key == 'identical':
            continue
        ratio = ours[key] / theirs[key] if theirs[key] else float('nan')
        print(f'{key:28} {ours[key]:12.2f} {theirs[key]:12.2f} '
              f'{ratio:8.2f}')
    for name, figures in results.items():
        print(f'{name}: attached/plain throughput = '
              f'{figures["attached/plain"]:.2f} (goal >= 0.90 for ours); '
              f'replicas byte-identical: {figures["identical"]}')
    print(f'catch-up ours/original = '
          f'{ours["catch-up txn/s"] / theirs["catch-up txn/s"]:.2f}x '
          f'(goal >= 3); our p99 lag {ours["lag p99 ms"]:.2f} ms '
          f'(goal < 10)')


if __name__ == '__main__':
    main()
