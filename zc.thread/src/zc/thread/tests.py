"""Tests for zc.thread: the README doctest plus edge cases."""
import contextvars
import doctest
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import unittest.mock

import zc.thread

TIMEOUT = 30


def run_python(code, *, cwd=None, extra_path=(), env=None):
    """Run ``code`` in a fresh interpreter that can import zc.thread."""
    env = {**os.environ, **(env or {})}
    env['PYTHONPATH'] = os.pathsep.join([*extra_path, *sys.path])
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=TIMEOUT)


class ThreadTests(unittest.TestCase):

    def test_exception_is_logged_with_traceback_on_thread_logger(self):
        def explode():
            raise KeyError('missing')
        with self.assertLogs(f'{__name__}.explode', logging.ERROR) as logs:
            thread = zc.thread.Thread(explode)
            thread.join(TIMEOUT)
        self.assertIsInstance(thread.exception, KeyError)
        self.assertIsNone(thread.value)
        [record] = logs.records
        self.assertIs(record.exc_info[1], thread.exception)
        self.assertIn('Traceback', logs.output[0])

    def test_base_exceptions_are_not_captured(self):
        # SystemExit ends a thread the standard way; only Exceptions are
        # recorded as the thread's failure.
        thread = zc.thread.Thread(sys.exit)
        thread.join(TIMEOUT)
        self.assertFalse(thread.is_alive())
        self.assertIsNone(thread.exception)

    def test_restart_waits_between_attempts_and_clears_exception(self):
        times = []

        def flaky():
            times.append(time.monotonic())
            if len(times) < 3:
                raise OSError('try again')
            return len(times)

        with self.assertLogs(f'{__name__}.flaky', logging.ERROR) as logs:
            thread = zc.thread.Thread(flaky, restart=0.05)
            self.assertEqual(zc.thread.result(thread, TIMEOUT), 3)
        self.assertEqual(len(logs.records), 2)
        self.assertIsNone(thread.exception)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(gap >= 0.05 for gap in gaps), gaps)

    def test_restart_zero_restarts_immediately(self):
        calls = []

        def twice():
            calls.append(1)
            if len(calls) == 1:
                raise ValueError('first')
            return 'second'

        with self.assertLogs(f'{__name__}.twice', logging.ERROR):
            self.assertEqual(
                zc.thread.result(zc.thread.Thread(twice, restart=0),
                                 TIMEOUT),
                'second')

    def test_without_restart_a_failure_ends_the_thread(self):
        calls = []

        def once():
            calls.append(1)
            raise ValueError('once')

        with self.assertLogs(f'{__name__}.once', logging.ERROR):
            thread = zc.thread.Thread(once)
            thread.join(TIMEOUT)
        self.assertEqual(calls, [1])

    def test_context_is_copied_when_the_thread_is_created(self):
        var = contextvars.ContextVar('var')
        token = var.set('at creation')
        try:
            thread = zc.thread.Thread(var.get, start=False)
            var.set('at start')
            thread.start()
            self.assertEqual(zc.thread.result(thread, TIMEOUT), 'at creation')
        finally:
            var.reset(token)

    def test_unset_context_variable_stays_unset(self):
        var = contextvars.ContextVar('unset')
        thread = zc.thread.Thread(var.get)
        with self.assertRaises(LookupError):
            zc.thread.result(thread, TIMEOUT)

    def test_result_of_unstarted_thread(self):
        thread = zc.thread.Thread(lambda: 1, start=False)
        with self.assertRaises(RuntimeError):
            zc.thread.result(thread, 0.01)

    def test_thread_is_a_threading_thread(self):
        thread = zc.thread.Thread(lambda: None)
        thread.join(TIMEOUT)
        self.assertIsInstance(thread, threading.Thread)
        self.assertIsInstance(thread, zc.thread.ResultThread)


class ExitTests(unittest.TestCase):
    """What happens to failing threads once the interpreter exits."""

    def test_restarting_non_daemon_thread_does_not_block_exit(self):
        started = time.monotonic()
        run = run_python('''
            import logging, time, zc.thread
            logging.basicConfig(format='LOGGED %(message)s')
            @zc.thread.Thread(daemon=False, restart=3600)
            def poll():
                time.sleep(0.3)
                raise RuntimeError('failing during shutdown')
            print('main done', flush=True)
        ''')
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, 'main done\n')
        self.assertNotIn('LOGGED', run.stderr)
        self.assertLess(time.monotonic() - started, TIMEOUT)

    def test_failures_before_exit_are_logged_and_restarted(self):
        run = run_python('''
            import logging, time, zc.thread
            logging.basicConfig(format='LOGGED %(message)s')
            calls = []
            @zc.thread.Thread(restart=0.01)
            def work():
                calls.append(1)
                if len(calls) < 3:
                    raise RuntimeError('boom')
            zc.thread.result(work, 10)
            print(len(calls))
        ''')
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, '3\n')
        self.assertEqual(run.stderr.count('LOGGED Exception in thread'), 2)


class ProcessTests(unittest.TestCase):
    """Processes under both start methods, with a decorated module-level
    function as users write them."""

    MODULE = '''
        import os, sys, zc.thread

        @zc.thread.Process(start=False, args=(os.environ['PIDWRITER_OUT'],),
                           kwargs={'suffix': '!'})
        def write_pid(path, suffix=''):
            """Write the pid."""
            with open(path, 'w') as f:
                f.write(f'{os.getpid()}{suffix}')
    '''

    def run_with_start_method(self, method):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, 'pidwriter.py'), 'w') as f:
                f.write(textwrap.dedent(self.MODULE))
            out = os.path.join(tmp, 'out')
            run = run_python(f'''
                import multiprocessing, os
                if __name__ == '__main__':
                    multiprocessing.set_start_method({method!r})
                    import pidwriter
                    process = pidwriter.write_pid
                    process.start()
                    process.join(20)
                    print(process.exitcode, process.name, process.__doc__)
                    with open({out!r}) as f:
                        written = f.read()
                    print(written != f'{{os.getpid()}}!', written.endswith('!'))
            ''', cwd=tmp, extra_path=[tmp], env={'PIDWRITER_OUT': out})
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(
            run.stdout, '0 pidwriter.write_pid Write the pid.\nTrue True\n')

    def test_fork(self):
        self.run_with_start_method('fork')

    def test_spawn(self):
        self.run_with_start_method('spawn')

    def test_spawn_with_arguments_and_direct_call(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, 'adder.py'), 'w') as f:
                f.write('def add(queue, a, b):\n    queue.put(a + b)\n')
            run = run_python('''
                import multiprocessing, zc.thread
                if __name__ == '__main__':
                    multiprocessing.set_start_method('spawn')
                    import adder
                    queue = multiprocessing.Queue()
                    p = zc.thread.Process(adder.add, args=(queue, 2),
                                          kwargs={'b': 40})
                    print(queue.get(timeout=20))
                    p.join(20)
                    print(p.exitcode)
            ''', cwd=tmp, extra_path=[tmp])
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, '42\n0\n')

    def test_process_has_no_result_attributes(self):
        process = zc.thread.Process(os.getpid, start=False)
        self.assertFalse(hasattr(process, 'value'))
        self.assertFalse(hasattr(process, 'exception'))


class TypingTests(unittest.TestCase):
    """The type hints say what users get back, as mypy sees it."""

    def test_revealed_types(self):
        try:
            from mypy import api
        except ImportError:  # pragma: no cover - mypy is in the test extra
            self.fail('mypy (zc.thread[test]) is needed for this test')
        source = textwrap.dedent('''
            import zc.thread

            def compute(x: int) -> str:
                return str(x)

            thread = zc.thread.Thread(compute, args=(1,))
            reveal_type(thread)
            reveal_type(zc.thread.result(thread))

            @zc.thread.Thread(daemon=False)
            def decorated() -> float:
                return 1.0
            reveal_type(decorated)
            reveal_type(zc.thread.Process(compute))
            wrong: int = zc.thread.result(thread)
        ''')
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'sample.py')
            with open(path, 'w') as f:
                f.write(source)
            # Point mypy at our source: pip's editable installs use import
            # hooks, which mypy does not follow.
            source = os.path.dirname(os.path.dirname(os.path.dirname(
                zc.thread.__file__)))
            with unittest.mock.patch.dict(os.environ, MYPYPATH=source):
                stdout, stderr, status = api.run(
                    ['--cache-dir', os.path.join(tmp, 'cache'),
                     '--no-error-summary', path])
        self.assertEqual(status, 1, stderr)
        lines = [line.split(': ', 1)[1] for line in stdout.splitlines()]
        self.assertEqual(lines, [
            'note: Revealed type is "zc.thread.ResultThread[str]"',
            'note: Revealed type is "str"',
            'note: Revealed type is "zc.thread.ResultThread[float]"',
            'note: Revealed type is "multiprocessing.context.Process"',
            'error: Incompatible types in assignment (expression has type'
            ' "str", variable has type "int")  [assignment]',
        ])


def test_suite():
    return unittest.TestSuite([
        doctest.DocFileSuite(
            'README.rst', globs={'__name__': 'README'},
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]),
    ])
