"""zc.monitor inside a busy process: commands/s, and what they cost the host.

The host is this process: a thread commits ZODB transactions (FileStorage)
as fast as it can, and a zc.monitor serves the registered database. Eight
client processes send one-shot commands (connect, one line, read the answer
until the server closes), each as fast as it gets answers.

Rounds alternate between "idle" (the monitor runs, nobody asks it anything)
and "loaded" (the 8 clients hammer it), so a busy machine slows both alike;
the figure is the median of the per-pair ratios. The host runs on the first
CPU, the clients on the second: they stand for clients on other machines.

Figures: the commands/s the monitor answered under load, the CPU its
threads used, and the ratio of the host's commit rate loaded/idle (goal:
slowdown < 5%, ratio > 0.95). Such a flood is what the monitor's CPU
budget (2% of a CPU by default) is for; ``--cpu-budget none`` shows what
the monitor can do, and costs the host, without it.

    bin/py benchmarks/monitor_throughput.py [--rounds N] [--seconds S]
        [--clients N] [--command LINE] [--cpu-budget SHARE|none]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import transaction
import ZODB
import ZODB.FileStorage

import zc.monitor
import zc.monitor.listener
import zc.monitor.zodb

#: One client process: on "run SECONDS", send one-shot commands for that
#: long and print how many were answered.
CLIENT = r'''
import os, socket, sys, time
host, port, line = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b'\n'
if sys.argv[4:]:
    os.sched_setaffinity(0, {int(sys.argv[4])})
for request in sys.stdin:
    seconds = float(request.split()[1])
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(line)
            answer = b''
            while data := sock.recv(65536):
                answer += data
        assert answer and not answer.startswith(b'Invalid'), answer
        done += 1
    print(done, flush=True)
'''


class Committer:
    """A thread committing small transactions in a loop, counting them."""

    def __init__(self, db):
        self.db = db
        self.commits = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        tm = transaction.TransactionManager()
        connection = self.db.open(tm)
        root = connection.root()
        while self.running:
            with tm:
                root['counter'] = root.get('counter', 0) + 1
            self.commits += 1
        connection.close()

    def stop(self):
        self.running = False
        self.thread.join(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=30,
                        help='rounds of each kind (default 30)')
    parser.add_argument('--seconds', type=float, default=1.0,
                        help='length of a round (default 1)')
    parser.add_argument('--clients', type=int, default=8,
                        help='client processes (default 8)')
    parser.add_argument('--command', default='dbinfo',
                        help='the command line the clients send '
                             '(default "dbinfo")')
    parser.add_argument('--cpu-budget', type=budget,
                        default=zc.monitor.listener.CPU_BUDGET,
                        help="the monitor's cpu_budget option, a share of one "
                             "CPU or 'none' (default %(default)s)")
    options = parser.parse_args(argv)
    # The clients stand for operators and scrapers on other machines: keep
    # them off the host's CPU, so that what is measured is the monitor's
    # cost to the host, not the clients'. (The host's threads inherit this.)
    pinned = hasattr(os, 'sched_setaffinity') and os.cpu_count() > 1
    if pinned:
        os.sched_setaffinity(0, {0})
    client_cpu = ['1'] if pinned else []

    with tempfile.TemporaryDirectory() as directory:
        db = ZODB.DB(ZODB.FileStorage.FileStorage(
            os.path.join(directory, 'Data.fs')))
        zc.monitor.zodb.register_database(db)
        host, port = zc.monitor.start(0, cpu_budget=options.cpu_budget)
        clients = [
            subprocess.Popen([sys.executable, '-c', CLIENT, host, str(port),
                              options.command, *client_cpu],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
            for _ in range(options.clients)]
        committer = Committer(db)
        try:
            time.sleep(1)  # warm up
            results = {'idle': [], 'loaded': []}
            for round in range(options.rounds):
                # Alternate the order, so a trend in the machine's load
                # does not favour either kind.
                kinds = ('idle', 'loaded') if round % 2 else ('loaded', 'idle')
                for kind in kinds:
                    results[kind].append(
                        measure(committer, clients if kind == 'loaded' else
                                [], options.seconds))
        finally:
            committer.stop()
            for client in clients:
                client.stdin.close()
                client.wait(30)
            zc.monitor.stop()
            zc.monitor.zodb.unregister_database()
            db.close()
    report(results, options)
    if pinned:
        print('(host on CPU 0, clients on CPU 1)')


def budget(text):
    return None if text.lower() == 'none' else float(text)


def monitor_cpu():
    """CPU seconds the monitor's threads used so far (Linux)."""
    ticks = 0
    for thread in threading.enumerate():
        if thread.name.startswith('zc.monitor'):
            with open(f'/proc/self/task/{thread.native_id}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf('SC_CLK_TCK')


def measure(committer, clients, seconds):
    """Commits/s, the monitor's CPU seconds/s and commands/s over a round."""
    for client in clients:
        client.stdin.write(f'run {seconds}\n')
        client.stdin.flush()
    commits, cpu = committer.commits, monitor_cpu()
    start = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    commits, cpu = committer.commits - commits, monitor_cpu() - cpu
    answered = sum(int(client.stdout.readline()) for client in clients)
    return commits / elapsed, cpu / elapsed, answered / elapsed


def report(results, options):
    idle, loaded = results['idle'], results['loaded']
    ratios = [l[0] / i[0] for i, l in zip(idle, loaded)]
    commands = statistics.median(l[2] for l in loaded)
    cpu = sum(l[1] for l in loaded) / len(loaded)
    print(f'monitor: {commands:8.0f} one-shot {options.command!r} commands/s '
          f'from {options.clients} clients (cpu_budget '
          f'{options.cpu_budget}); its threads used {100 * cpu:.1f}% of a '
          f'CPU, {cpu / commands * 1e6:.0f} us per command')
    print(f'host:    {statistics.median(i[0] for i in idle):8.0f} commits/s '
          f'with the monitor idle, '
          f'{statistics.median(l[0] for l in loaded):.0f} under load')
    ratio = statistics.median(ratios)
    overall = sum(l[0] for l in loaded) / sum(i[0] for i in idle)
    print(f'ratio loaded/idle commit rate: {ratio:.3f} (median of '
          f'{len(ratios)} pairs; slowdown {100 * (1 - ratio):.1f}%, goal '
          f'< 5%); all rounds together: {overall:.3f}')


if __name__ == '__main__':
    main()
