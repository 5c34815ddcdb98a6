"""The zc.zrs event loop thread."""
import asyncio
import os
import subprocess
import sys
import textwrap
import unittest

from zc.zrs import loop


class LoopTests(unittest.TestCase):

    def test_soon_is_a_no_op_on_a_closed_loop(self):
        closed = asyncio.new_event_loop()
        closed.close()
        loop.soon(closed, self.fail, 'not called')  # nor raising

    def test_stopped_loop_is_restarted_on_next_use(self):
        first = loop.get_loop()
        loop.stop()
        self.assertTrue(first.is_closed())
        second = loop.get_loop()
        self.addCleanup(loop.stop)
        self.assertIsNot(first, second)
        self.assertEqual(loop.call(lambda: 42), 42)

    def test_work_in_the_executor_finishes_before_the_loop_stops(self):
        async def in_executor():
            return await asyncio.get_running_loop().run_in_executor(
                None, lambda: 'done')
        self.assertEqual(loop.call(in_executor), 'done')
        loop.stop()

    def test_stopping_at_interpreter_exit_is_quiet(self):
        # At exit, Python 3.12 refuses new threads: stopping must not
        # need one (asyncio's shutdown_default_executor did).
        done = subprocess.run(
            [sys.executable, '-c', textwrap.dedent('''
                import asyncio
                from zc.zrs import loop
                async def work():
                    return await asyncio.get_running_loop().run_in_executor(
                        None, sum, [1, 2])
                print(loop.call(work))
            ''')], capture_output=True, text=True, timeout=60,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, '3\n', ''))
