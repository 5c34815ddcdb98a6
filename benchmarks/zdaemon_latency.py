"""zdaemon start / stop / respawn latency, ours against the original 5.2.1.

Each is installed in a throw-away venv of its own (zc.stack.peers): the
original from the package index, ours from this checkout (editable, so the
venv follows the source), so that both start Python the same way.  Both are
driven only through their command line, in subprocesses; the manager's
status is read from its control socket (same protocol) every half
millisecond.  Rounds alternate between the two, so a busy machine slows
both alike; the figures are medians and the ratios ours/original.

- start: wall time of ``zdaemon -p 'sleep 100' start`` until it returns,
  and until the manager first reports the program's pid ("up").
- stop: wall time of ``zdaemon stop``.
- respawn: from SIGKILL of a program that had lived longer than the
  back-off limit (-b 1) until the manager reports its successor.

Goals: start returns within 0.3 s of the end of the program's start
window (ours reports a program as started once it has run for a second,
its default ``--start-window``, so that one dying while it starts up is
reported as failing; the original returned at its first poll, after a
second, whether the program was still starting or not); respawn of a
long-lived program under 20 ms.

    bin/py benchmarks/zdaemon_latency.py [--rounds N]
"""
import argparse
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

from zc.stack import peers
from zc.stack.runtests import ROOT
from zdaemon import _control

PROBE_INTERVAL = 0.0005
START_WINDOW = 1    # our zdaemon start's default --start-window
TIMEOUT = 60


def installed(name, requirements):
    """The zdaemon script of a venv holding ``requirements``."""
    python = pathlib.Path(peers.peer_python(name, requirements))
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return [str(python.parent / 'zdaemon')], env


def ours():
    return installed('zdaemon-checkout', ['-e', str(ROOT / 'zdaemon')])


def original():
    return installed('zdaemon-5.2.1', ['zdaemon==5.2.1'])


class Run:
    """One zdaemon (ours or the original) in a directory of its own."""

    def __init__(self, command, env):
        self.command, self.env = command, env
        self.directory = tempfile.mkdtemp(prefix='zdaemon-bench-')
        self.sockname = os.path.join(self.directory, 'zdsock')

    def cli(self, *args):
        return subprocess.Popen(
            [*self.command, '-b', '1', '-p', 'sleep 100', *args],
            cwd=self.directory, env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def status(self):
        reply = _control.send_command(self.sockname, 'status', timeout=5)
        return _control.parse_status(reply) if reply else {}

    def wait_for(self, condition):
        deadline = time.perf_counter() + TIMEOUT
        while time.perf_counter() < deadline:
            status = self.status()
            if condition(status):
                return time.perf_counter(), status
            time.sleep(PROBE_INTERVAL)
        raise RuntimeError(f'timed out in {self.directory}')

    def start(self):
        """(seconds until up, seconds until start returned)"""
        begin = time.perf_counter()
        process = self.cli('start')
        up = None
        while process.poll() is None:
            if up is None and self.status().get('application'):
                up = time.perf_counter()
            time.sleep(PROBE_INTERVAL)
        returned = time.perf_counter()
        if process.returncode or not self.status().get('application'):
            raise RuntimeError(f'start failed in {self.directory}')
        if up is None:      # up and returned within one probe interval
            up = returned
        return up - begin, returned - begin

    def respawn(self):
        time.sleep(1.2)     # past the back-off limit
        pid = self.status()['application']
        begin = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        seen, _ = self.wait_for(
            lambda s: s.get('application') not in (None, 0, pid))
        return seen - begin

    def stop(self):
        begin = time.perf_counter()
        process = self.cli('stop')
        process.wait(TIMEOUT)
        return time.perf_counter() - begin

    def close(self):
        status = self.status()
        for pid in (status.get('application'), status.get('manager')):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.directory, ignore_errors=True)


def measure(zdaemon):
    run = Run(*zdaemon)
    try:
        up, start = run.start()
        respawn = run.respawn()
        stop = run.stop()
    finally:
        run.close()
    return {'up': up, 'start': start, 'start - up': start - up,
            'respawn': respawn, 'stop': stop}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=7,
                        help='rounds of each (default 7)')
    options = parser.parse_args(argv)
    contenders = {'ours': ours(), 'original': original()}
    results = {name: [] for name in contenders}
    measure(contenders['ours'])     # warm up (caches, the peer venv)
    measure(contenders['original'])
    for _ in range(options.rounds):
        for name, zdaemon in contenders.items():
            results[name].append(measure(zdaemon))
    print(f'medians of {options.rounds} rounds (seconds)')
    print(f'{"measure":12} {"ours":>9} {"original":>9} {"ratio":>7}')
    medians = {}
    for key in results['ours'][0]:
        ours_median, original_median = (
            statistics.median(r[key] for r in results[name])
            for name in ('ours', 'original'))
        medians[key] = ours_median
        print(f'{key:12} {ours_median:9.4f} {original_median:9.4f}'
              f' {ours_median / original_median:7.2f}')
    late = medians['start - up'] - START_WINDOW
    print(f'goal: start returns within 0.3 s of the end of the start'
          f' window: {late:.3f} s ({"met" if late < 0.3 else "NOT met"})')
    print(f'goal: respawn of a long-lived program under 20 ms:'
          f' {medians["respawn"] * 1000:.1f} ms'
          f' ({"met" if medians["respawn"] < 0.02 else "NOT met"})')


if __name__ == '__main__':
    main()
