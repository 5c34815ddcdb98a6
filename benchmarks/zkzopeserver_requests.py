"""zc.zkzopeserver requests/s against plain zope.server and waitress.

A trivial WSGI application (``app`` below: 14 bytes of text) is served,
each server in a process of its own, with the same number of task
threads:

- ours: ``zkzopeserver`` (registered in a real ZooKeeper, with its
  monitor server running, found through its registration);
- plain zope.server: ``WSGIHTTPServer`` with a ``ThreadedTaskDispatcher``
  and ``asyncore.loop()``, as zope.server's own paste runner does;
- waitress 3.0.2, in a throw-away venv of its own (zc.stack.peers).

wrk keeps 16 keep-alive connections busy on loopback. Rounds alternate
between the servers, so a busy machine slows all alike; the figures are
medians, and the ratios medians of each round's ratio. Besides requests/s,
the CPU time each server used per request is shown: it suffers less from
other work on the machine. Servers run on the first CPU, wrk on the second
(when there are two). Goal: ours within 5% of plain zope.server
(registration costs nothing per request); waitress is the compass.

    bin/py benchmarks/zkzopeserver_requests.py [--rounds N] [--seconds S]
        [--threads N] [--connections N]
"""
import argparse
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
BODY = b'Hello, world!\n'
WAITRESS = ('waitress-3.0.2', ['waitress==3.0.2'])
TIMEOUT = 120


def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(BODY)))])
    return [BODY]


#: Each baseline prints its port, then serves until killed.
PLAIN_ZOPE_SERVER = '''
import asyncore, sys
sys.path.insert(0, {here!r})
from zope.server.http.wsgihttpserver import WSGIHTTPServer
from zope.server.taskthreads import ThreadedTaskDispatcher
from zkzopeserver_requests import app
dispatcher = ThreadedTaskDispatcher()
dispatcher.setThreadCount({threads})
server = WSGIHTTPServer(app, 'plain', '127.0.0.1', 0,
                        task_dispatcher=dispatcher)
print(server.socket.getsockname()[1], flush=True)
asyncore.loop()
'''

WAITRESS_SERVER = '''
import logging, sys
logging.getLogger('waitress.queue').setLevel(logging.ERROR)  # "queue depth"
sys.path.insert(0, {here!r})
from waitress.server import create_server
from zkzopeserver_requests import app
server = create_server(app, host='127.0.0.1', port=0, threads={threads})
print(server.effective_port, flush=True)
server.run()
'''


def pin(cpu):
    """A preexec_fn putting the child on ``cpu`` (if there is such)."""
    def preexec():
        if cpu < os.cpu_count():
            os.sched_setaffinity(0, {cpu})
    return preexec


def env():
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path),
            'PYTHONWARNINGS': 'ignore'}


def start_printing_port(python, code, threads):
    process = subprocess.Popen(
        [str(python), '-c', code.format(here=str(HERE), threads=threads)],
        stdout=subprocess.PIPE, text=True, env=env(), preexec_fn=pin(0))
    return process, int(process.stdout.readline())


def start_ours(zookeeper, threads):
    import zc.zk
    from zope.testing.wait import wait
    process = subprocess.Popen(
        [sys.executable, '-m', 'zc.zkzopeserver', 'zkzopeserver_requests:app',
         '--zookeeper', zookeeper, '--path', '/bench', '--host', '127.0.0.1',
         '--threads', str(threads), '--monitor-server', '127.0.0.1:0',
         '--loggers', 'WARNING'],
        env={**env(), 'PYTHONPATH': os.pathsep.join([str(HERE), *sys.path])},
        preexec_fn=pin(0))
    with zc.zk.ZooKeeper(zookeeper) as zk:
        wait(lambda: zk.exists('/bench') and zk.get_children('/bench'),
             timeout=TIMEOUT)
        [name] = zk.get_children('/bench')
    return process, int(name.rpartition(':')[2])


def cpu_seconds(pid):
    """CPU time process ``pid`` used so far (all its threads)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def wrk(port, seconds, connections):
    """``(requests/s, requests)`` wrk got from ``port``."""
    done = subprocess.run(
        ['wrk', '-t1', f'-c{connections}', f'-d{seconds}s',
         f'http://127.0.0.1:{port}/'],
        capture_output=True, text=True, timeout=seconds + TIMEOUT,
        preexec_fn=pin(1))
    match = re.search(r'Requests/sec:\s*([\d.]+)', done.stdout)
    count = re.search(r'(\d+) requests in', done.stdout)
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', done.stdout)
    if done.returncode or not match or not count or errors:
        raise SystemExit(f'wrk failed:\n{done.stdout}{done.stderr}')
    return float(match.group(1)), int(count.group(1))


def measure(process, port, seconds, connections):
    """``(requests/s, server CPU microseconds per request)``."""
    cpu = cpu_seconds(process.pid)
    rate, requests = wrk(port, seconds, connections)
    return rate, (cpu_seconds(process.pid) - cpu) / requests * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5,
                        help='measurements of each server (default 5)')
    parser.add_argument('--seconds', type=int, default=3,
                        help='length of one measurement (default 3)')
    parser.add_argument('--threads', type=int, default=1,
                        help='task threads of every server (default 1, the'
                             ' zkzopeserver default)')
    parser.add_argument('--connections', type=int, default=16,
                        help='keep-alive client connections (default 16)')
    options = parser.parse_args(argv)
    if shutil.which('wrk') is None:
        raise SystemExit("wrk is needed: 'apt-get install wrk'")

    from zc.stack.peers import peer_python
    from zc.zk.testing import Server

    zookeeper = Server().start()
    servers = []
    try:
        servers.append(('ours', *start_ours(zookeeper.address,
                                            options.threads)))
        servers.append(('plain zope.server', *start_printing_port(
            sys.executable, PLAIN_ZOPE_SERVER, options.threads)))
        servers.append(('waitress', *start_printing_port(
            peer_python(*WAITRESS), WAITRESS_SERVER, options.threads)))
        for _, _, port in servers:
            wrk(port, 1, options.connections)  # warm up
        rates = {name: [] for name, _, _ in servers}
        costs = {name: [] for name, _, _ in servers}
        for _ in range(options.rounds):
            for name, process, port in servers:
                rate, cost = measure(process, port, options.seconds,
                                     options.connections)
                rates[name].append(rate)
                costs[name].append(cost)
    finally:
        for _, process, _ in servers:
            process.terminate()
            process.wait(TIMEOUT)
        zookeeper.close()

    print(f'{options.connections} keep-alive connections, {options.threads}'
          f' task thread(s), {options.rounds} rounds of {options.seconds}s'
          ' (servers on CPU 0, wrk on CPU 1)')
    for name in rates:
        print(f'{name:18} {statistics.median(rates[name]):9.0f} requests/s'
              f' (min {min(rates[name]):.0f}, max {max(rates[name]):.0f}),'
              f' {statistics.median(costs[name]):5.1f} CPU us/request')
    for name, goal in (('ours', ' (goal >= 0.95)'), ('waitress', '')):
        print(f'{name} / plain zope.server: requests/s'
              f' {paired_ratio(rates, name):.3f}{goal}, CPU per request'
              f' {paired_ratio(costs, name):.3f}')
    print('(ratios: medians of each round\'s ratio)')


def paired_ratio(figures, name):
    """Median of the rounds' ratios: paired by round, the two servers saw
    the same load of the machine."""
    return statistics.median(
        mine / plain
        for mine, plain in zip(figures[name], figures['plain zope.server']))


if __name__ == '__main__':
    main()
