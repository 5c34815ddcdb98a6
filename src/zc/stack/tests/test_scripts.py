"""Every console script, run as a user at 3 a.m. would: ``--help`` gives
help, and each bad input in the table gets the documented exit status, no
traceback and one line naming what is wrong (a usage line or zdaemon's
"For help, use ..." may come with it).

The scripts are found from the console-script entry points of every
distribution in the repository, so a new script gets its ``--help`` test
at once, and ``test_every_script_has_bad_input_rows`` fails until the
table has rows for it. ZEO's ``runzeo`` and ``zeoctl`` (which run on our
zdaemon) and buildout's ``bin/py`` are in the table too.
"""
import concurrent.futures
import dataclasses
import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import ZEO

from zc.stack.runtests import ROOT
from zc.zk.testing.server import free_port

#: ZEO's scripts that run on our zdaemon, and buildout's interpreter.
EXTRA_SCRIPTS = ('runzeo', 'zeoctl', 'py')
RUN_TIMEOUT = 60
#: Scripts run side by side: a run is mostly Python starting up, or a
#: wait (for a closed port, a time-out) that others can use.
WORKERS = 4
#: Lines that may come with the one line naming the problem.
HINT = re.compile(r'(usage:|For help, use )', re.IGNORECASE)
#: runzeo's own progress in its log, each entry after a line of dashes
#: (what went wrong is an ``Error:`` line).
INFO_LOG = re.compile(r'-+$|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d INFO ')
ANY_FAILURE = 'non-zero'


def distribution_names():
    """Our distributions: the root's (zc.stack) and one per directory."""
    return ['zc.stack'] + sorted(p.parent.name
                                 for p in ROOT.glob('*/setup.py'))


def console_scripts():
    """Names of the console scripts of our distributions."""
    names = set()
    for name in distribution_names():
        entry_points = importlib.metadata.distribution(name).entry_points
        names.update(e.name for e in entry_points.select(
            group='console_scripts'))
    return sorted(names)


def script_dir():
    """Where this environment's console scripts are: beside the venv's
    Python (pip), or buildout's bin/."""
    here = pathlib.Path(sys.executable).parent
    return here if (here / 'zc-stack-test').exists() else ROOT / 'bin'


def scripts():
    """Every script the table covers that this environment has."""
    return [n for n in console_scripts() + list(EXTRA_SCRIPTS)
            if (script_dir() / n).exists()]


def message_lines(text):
    """The lines of ``text`` that are not usage, a hint to get help or an
    INFO line of a log."""
    lines, in_usage = [], False
    for line in text.splitlines():
        if HINT.match(line):
            in_usage = line.lower().startswith('usage:')
        elif in_usage and line.startswith(' ') or INFO_LOG.match(line):
            continue
        elif line.strip():
            in_usage = False
            lines.append(line)
    return lines


@dataclasses.dataclass
class Row:
    """A script run with bad input: the statuses it may exit with
    (ANY_FAILURE: any but 0) and a pattern its one line must match.
    ``args`` and ``pattern`` may name fixtures: {closed}, {zeo},
    {monitor}, {tmp}."""
    script: str
    args: tuple
    status: object
    pattern: str
    #: A file the run must not create (code run from data).
    must_not_create: str = None


def rows_for_every_script():
    """A flag no script has (argparse names missing arguments first)."""
    return [Row(s, ('--no-such-flag',), 2, r'--no-such-flag|required')
            for s in console_scripts() + list(EXTRA_SCRIPTS)]


ROWS = rows_for_every_script() + [
    # zc.monitor's client.
    Row('zc-monitor', ('-t', '-1', '127.0.0.1:{closed}', 'help'), 2, '-1'),
    Row('zc-monitor', ('-t', '0', '127.0.0.1:{closed}', 'help'), 2,
        r'-t|timeout'),
    Row('zc-monitor', ('127.0.0.1:70000', 'help'), 2, '70000'),
    Row('zc-monitor', ('127.0.0.1:{closed}', 'help'), ANY_FAILURE,
        '{closed}'),
    Row('zc-monitor', ('{zeo}', 'help'), ANY_FAILURE,
        r'(?i)not a (zc\.)?monitor'),
    Row('zc-monitor', ('{monitor}', 'nosuchcommand'), ANY_FAILURE,
        'nosuchcommand'),
    # zc.zk's scripts.
    Row('zookeeper_export', ('garbage,,::',), ANY_FAILURE, 'garbage'),
    Row('zookeeper_export', ('127.0.0.1:abc',), ANY_FAILURE, 'abc'),
    Row('zookeeper_export', ('127.0.0.1:70000',), ANY_FAILURE, '70000'),
    Row('zookeeper_export', ('--timeout', '1', '127.0.0.1:{closed}'),
        ANY_FAILURE, '127.0.0.1:{closed}'),
    Row('zookeeper_validate', ('{tmp}/missing.zk',), ANY_FAILURE,
        'missing.zk'),
    Row('zookeeper_validate', ('{tmp}/latin1.zk',), ANY_FAILURE,
        'latin1.zk'),
    Row('zookeeper_validate', ('{tmp}/code.zk',), ANY_FAILURE, 'code.zk',
        must_not_create='{tmp}/pwned'),
    # (zc.zk's scripts exit 1 for what argparse does not check itself.)
    Row('zookeeper_import', ('-p', '999', '127.0.0.1:{closed}',
                             '{tmp}/good.zk'), 1, '999'),
    Row('zookeeper_import', ('--auth', 'nocolon', '127.0.0.1:{closed}',
                             '{tmp}/good.zk'), 1, r'nocolon|auth'),
    Row('zookeeper_import', ('127.0.0.1:{closed}', '{tmp}/missing.zk'),
        ANY_FAILURE, 'missing.zk'),
    Row('zookeeper_set_property', ('--timeout', '1', '127.0.0.1:{closed}',
                                   '/a', 'x=1'), ANY_FAILURE,
        '127.0.0.1:{closed}'),
    Row('zookeeper_set_property', ('127.0.0.1:{closed}', '/a', 'noequals'),
        ANY_FAILURE, 'noequals'),
    # zc.zrs's scripts (zrs-nagios: Nagios's 2 critical, 3 unknown).
    Row('zrs-nagios', ('127.0.0.1:{closed}', '127.0.0.1:{closed}'), 2,
        '-m|-w|-e'),
    Row('zrs-nagios', ('-m', '127.0.0.1:70000', '127.0.0.1:70001'), {2, 3},
        '70000'),
    Row('zrs-nagios', ('-m', '127.0.0.1:{closed}', '127.0.0.1:{closed}'),
        2, '{closed}'),
    Row('last-zeo-transaction', ('127.0.0.1:70000',), ANY_FAILURE, '70000'),
    Row('last-zeo-transaction', ('127.0.0.1:{closed}',), ANY_FAILURE,
        '{closed}'),
    Row('runzeo', ('-C', '{tmp}/missing.conf'), 2, 'missing.conf'),
    Row('runzeo', ('-C', '{tmp}/zrs-not-local.conf'), ANY_FAILURE,
        'replicate-to'),
    Row('runzeo', ('-C', '{tmp}/zrs-on-zeo-port.conf'), ANY_FAILURE,
        'replicate-to'),
    # zdaemon, and ZEO's zeoctl on it.
    Row('zdaemon', ('-b', '-5', '-p', 'true', 'status'), 2, r'-b|backoff'),
    Row('zdaemon', ('-b', '0', '-p', 'true', 'status'), 2, r'-b|backoff'),
    Row('zdaemon', ('-C', '{tmp}/missing.conf', 'status'), 2,
        'missing.conf'),
    Row('zdaemon', ('-C', '{tmp}/unknown-key.conf', 'status'), 2,
        r'line 3'),
    Row('zeoctl', ('-C', '{tmp}/missing.conf', 'status'), 2,
        'missing.conf'),
    Row('zeoctl', ('-C', '{tmp}/zeo-without-runner.conf', 'status'), 2,
        'runner'),
    # zc.zkzopeserver's.
    Row('zkzopeserver', ('nosuch:app', '--zookeeper', '127.0.0.1:{closed}',
                         '--path', '/app'), 2, 'nosuch:app'),
    Row('zkzopeserver', ('os:getcwd', '--path', '/app'), 2, '--zookeeper'),
    Row('zkzopeserver', ('os:getcwd', '--zookeeper', 'garbage,,::',
                         '--path', '/app'), 2, 'garbage'),
    Row('zkzopeserver', ('os:getcwd', '--zookeeper', '127.0.0.1:{closed}',
                         '--path', '/app', '--port', '70000'), 2, '70000'),
    Row('zkzopeserver', ('{tmp}/missing.ini',), 2, 'missing.ini'),
    # zc.zkzeo's (zkzeo-nagios answers on stdout, as ZEO's nagios does).
    Row('zkrunzeo', ('-C', '{tmp}/missing.conf'), 2, 'missing.conf'),
    Row('zkrunzeo', ('-C', '{tmp}/zk-bad-connection.conf'), 2,
        r'<zookeeper> connection.*line'),
    Row('zkzeo-nagios', (), 2, 'ZOOKEEPER'),
    Row('zkzeo-nagios', ('garbage,,::', '/databases/main'), 2, 'garbage'),
    Row('zkzeo-nagios', ('127.0.0.1:{closed}', '/databases/main'), 2,
        '127.0.0.1:{closed}'),
    # zc.stack's.
    Row('zc-stack-test', ('-s', 'nosuchpackage'), 2, 'nosuchpackage'),
    Row('zc-stack', ('status',), 1, 'no cluster in .*: run zc-stack up'),
    Row('zc-stack', ('up', '--only', 'front,web'), 1, "unknown role 'web'"),
    Row('zc-stack', ('up', '--config', '{tmp}/missing.conf'), 1,
        'missing.conf'),
    Row('zc-stack', ('up', '--front-port', '70000'), 1, '70000'),
    Row('py', ('{tmp}/missing.py',), 2, 'missing.py'),
]

#: The files the rows read.
FILES = {
    'good.zk': '/a\n  x = 1\n',
    'code.zk': "/a\n  x = __import__('pathlib').Path('{tmp}/pwned')"
               ".touch()\n",
    'unknown-key.conf': '<runner>\n  program true\n  no-such-key 1\n'
                        '</runner>\n',
    'zeo-without-runner.conf': '<zeo>\n  address 127.0.0.1:{closed}\n'
                               '</zeo>\n<filestorage 1>\n  path {tmp}/Data.fs'
                               '\n</filestorage>\n',
    'zk-bad-connection.conf': '<zeo>\n  address 127.0.0.1:0\n</zeo>\n'
                              '<filestorage 1>\n  path {tmp}/Data3.fs\n'
                              '</filestorage>\n<zookeeper>\n  connection'
                              ' garbage,,::\n  path /databases/main\n'
                              '</zookeeper>\n',
    'zrs-not-local.conf': '%import zc.zrs\n<zeo>\n  address 127.0.0.1:0\n'
                          '</zeo>\n<zrs>\n  replicate-to 192.0.2.1:{closed}\n'
                          '  <filestorage>\n    path {tmp}/Data.fs\n'
                          '  </filestorage>\n</zrs>\n',
    'zrs-on-zeo-port.conf': '%import zc.zrs\n<zeo>\n  address'
                            ' 127.0.0.1:{port}\n</zeo>\n<zrs>\n  replicate-to'
                            ' 127.0.0.1:{port}\n  <filestorage>\n    path'
                            ' {tmp}/Data2.fs\n  </filestorage>\n</zrs>\n',
}
LATIN1 = 'caf\xe9 = 1\n'.encode('latin-1')


class Fixtures:
    """A temporary directory with the table's files, a closed port, a ZEO
    server (not a monitor) and a zc.monitor server in a process of its
    own, for every test of the table; every run the tests check starts
    here, ``WORKERS`` at a time, and each test waits for its own."""

    @classmethod
    def setUp(cls):
        cls.tmp = tempfile.mkdtemp(prefix='zc-stack-scripts-')
        cls.zeo_address, cls.stop_zeo = ZEO.server()
        cls.monitor = subprocess.Popen(
            [sys.executable, '-c',
             'import sys, zc.monitor; print(zc.monitor.start(0)[1],'
             ' flush=True); sys.stdin.read()'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        cls.values = dict(
            tmp=cls.tmp, closed=free_port(), port=free_port(),
            zeo='%s:%s' % cls.zeo_address,
            monitor='127.0.0.1:' + cls.monitor.stdout.readline().strip())
        for name, text in FILES.items():
            with open(os.path.join(cls.tmp, name), 'w') as f:
                f.write(text.format(**cls.values))
        with open(os.path.join(cls.tmp, 'latin1.zk'), 'wb') as f:
            f.write(LATIN1)
        cls.pool = concurrent.futures.ThreadPoolExecutor(WORKERS)
        cls.runs = {}
        for script in scripts():
            start(script, '--help')
        for row in ROWS:
            if (script_dir() / row.script).exists():
                start(row.script,
                      *(a.format(**cls.values) for a in row.args))

    @classmethod
    def tearDown(cls):
        cls.pool.shutdown(wait=True)
        cls.monitor.stdin.close()
        cls.monitor.wait(RUN_TIMEOUT)
        cls.monitor.stdout.close()
        cls.stop_zeo()
        shutil.rmtree(cls.tmp)


def start(script, *args):
    """Run a script in the background, once per command line; return the
    future of its ``subprocess.run`` result."""
    key = (script, *args)
    if key not in Fixtures.runs:
        Fixtures.runs[key] = Fixtures.pool.submit(
            subprocess.run, [str(script_dir() / script), *args],
            capture_output=True, text=True, timeout=RUN_TIMEOUT,
            stdin=subprocess.DEVNULL, cwd=Fixtures.tmp)
    return Fixtures.runs[key]


def run(script, *args):
    return start(script, *args).result()


class ScriptTests(unittest.TestCase):

    layer = Fixtures

    def test_every_script_has_bad_input_rows(self):
        covered = {r.script for r in ROWS if r.args != ('--no-such-flag',)}
        self.assertEqual(sorted(set(scripts()) - covered), [])

    def check_help(self, script):
        done = run(script, '--help')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn('Traceback', done.stdout + done.stderr)
        self.assertTrue(done.stdout.strip(), f'{script} --help printed'
                        ' nothing on stdout')

    def check_row(self, row):
        if not (script_dir() / row.script).exists():
            self.skipTest(f'no {row.script} in this environment')
        values = Fixtures.values
        args = [a.format(**values) for a in row.args]
        done = run(row.script, *args)
        output = done.stdout + done.stderr
        shown = f'{row.script} {" ".join(args)} said:\n{output}'
        if row.must_not_create:
            self.assertFalse(os.path.exists(
                row.must_not_create.format(**values)),
                f'{shown}\nand it ran code from the data')
        self.assertNotIn('Traceback', output, shown)
        if row.status == ANY_FAILURE:
            self.assertNotEqual(done.returncode, 0, shown)
        else:
            self.assertIn(done.returncode, row.status
                          if isinstance(row.status, set) else {row.status},
                          shown)
        lines = message_lines(done.stderr) + message_lines(done.stdout)
        self.assertEqual(len(lines), 1, shown)
        self.assertRegex(lines[0], row.pattern.format(**values), shown)


def test_name(*words):
    return 'test_' + re.sub(r'\W+', '_', ' '.join(words)).strip('_')


def _add_tests():
    """One test method per script (--help) and per row."""
    for script in console_scripts() + list(EXTRA_SCRIPTS):
        def test(self, script=script):
            if not (script_dir() / script).exists():
                self.skipTest(f'no {script} in this environment')
            self.check_help(script)
        setattr(ScriptTests, test_name(script, 'help'), test)
    for row in ROWS:
        def test(self, row=row):
            self.check_row(row)
        name = test_name(row.script, *row.args)
        assert not hasattr(ScriptTests, name), f'two rows named {name}'
        setattr(ScriptTests, name, test)


_add_tests()
