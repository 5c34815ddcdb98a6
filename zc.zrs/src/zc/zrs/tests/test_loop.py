"""The zc.zrs event loop thread."""
import asyncio
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
