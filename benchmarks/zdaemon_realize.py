"""ZEOOptions.realize(['-C', conf]) with our zdaemon against the original.

Every server ZEO.server() and ZEO's test forker start realizes runzeo's
options (ZDOptions), so other packages' test suites pay for it.  Each
zdaemon is installed with ZEO 6.2 in a throw-away venv (zc.stack.peers:
the original from the package index, ours editable from this checkout), and
the same timing script runs in both, in subprocesses, alternating rounds.
Figures: the first realize in a process (imports and schema included) and
the median of the following ones; ratios ours/original.

    bin/py benchmarks/zdaemon_realize.py [--rounds N] [--calls N]
"""
import argparse
import json
import statistics
import subprocess

from zc.stack import peers
from zc.stack.runtests import ROOT

ZEO = 'ZEO==6.2'

TIMING_SCRIPT = '''
import json, os, sys, tempfile, time
start = time.perf_counter()
import ZEO.runzeo
directory = tempfile.mkdtemp()
conf = os.path.join(directory, 'zeo.conf')
with open(conf, 'w') as f:
    f.write('<zeo>\\n  address 127.0.0.1:0\\n</zeo>\\n'
            '<filestorage>\\n  path %s\\n</filestorage>\\n'
            % os.path.join(directory, 'Data.fs'))
def realize():
    options = ZEO.runzeo.ZEOOptions()
    options.realize(['-C', conf])
    assert options.address == ('127.0.0.1', 0), options.address
t = time.perf_counter(); realize(); first = time.perf_counter() - t
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); realize(); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({'first': first, 'next': times[len(times) // 2]}))
'''


def contenders():
    return {
        'ours': peers.peer_python('zeo-zdaemon-checkout',
                                  ['-e', str(ROOT / 'zdaemon'), ZEO]),
        'original': peers.peer_python('zeo-zdaemon-5.2.1',
                                      ['zdaemon==5.2.1', ZEO]),
    }


def measure(python, calls):
    done = subprocess.run([str(python), '-c', TIMING_SCRIPT, str(calls)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5,
                        help='processes of each (default 5)')
    parser.add_argument('--calls', type=int, default=50,
                        help='realize calls per process (default 50)')
    options = parser.parse_args(argv)
    pythons = contenders()
    results = {name: [] for name in pythons}
    for _ in range(options.rounds):
        for name, python in pythons.items():
            results[name].append(measure(python, options.calls))
    print(f'ZEOOptions.realize, medians of {options.rounds} processes'
          f' (milliseconds)')
    print(f'{"measure":16} {"ours":>9} {"original":>9} {"ratio":>7}')
    for key, label in (('first', 'first realize'), ('next', 'later realize')):
        ours, original = (statistics.median(r[key] for r in results[name])
                          for name in ('ours', 'original'))
        print(f'{label:16} {ours * 1000:9.2f} {original * 1000:9.2f}'
              f' {ours / original:7.2f}')


if __name__ == '__main__':
    main()
