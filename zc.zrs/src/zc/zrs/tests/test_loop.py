"""The zc.zrs event loop thread."""
import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import threading
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


class SocketWriterTests(unittest.TestCase):
    """Writing to a loop's connection from another thread."""

    def setUp(self):
        self.addCleanup(loop.stop)
        self.loop = loop.get_loop()
        server = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(server.close)
        server.settimeout(30)
        self.peer = socket.create_connection(server.getsockname(), 30)
        self.addCleanup(self.peer.close)
        self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        accepted, _ = server.accept()
        self.lock = threading.Lock()
        self.transport, self.writer = loop.call(self.connect, accepted)
        self.addCleanup(loop.call, self.close)

    async def connect(self, sock):
        transport, _ = await self.loop.connect_accepted_socket(
            asyncio.Protocol, sock)
        return transport, loop.SocketWriter(self.loop, transport,
                                            self.writable)

    def writable(self):
        with self.lock:
            self.writer.flush()

    def close(self):
        with self.lock:
            self.writer.close()
        self.transport.close()

    def received(self, size):
        data = bytearray()
        while len(data) < size:
            chunk = self.peer.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def test_plain_transports_only(self):
        self.assertTrue(loop.SocketWriter.supports(self.transport))

    def test_the_writing_thread_sends_what_the_socket_takes(self):
        release = threading.Event()
        self.addCleanup(release.set)
        loop.soon(self.loop, release.wait, 30)  # the loop does nothing
        with self.lock:
            self.writer.write(b'hello')
        self.assertEqual(self.received(5), b'hello')
        self.assertFalse(self.writer.pending)

    def test_the_loop_sends_the_rest_in_order(self):
        blocks = [bytes([i]) * 100_000 for i in range(100)]
        for block in blocks:
            with self.lock:
                self.writer.write(block)
        with self.lock:
            self.assertTrue(self.writer.pending)  # the socket was full
        loop.call(self.writable)  # the loop takes over what is pending
        self.assertEqual(self.received(len(blocks) * 100_000),
                         b''.join(blocks))
        self.assertFalse(self.writer.pending)

    def test_the_connection_ends_when_both_are_closed(self):
        loop.call(self.transport.close)
        with self.lock:
            self.writer.write(b'after')  # the duplicate still writes
        self.assertEqual(self.received(5), b'after')
        loop.call(self.close)
        self.peer.settimeout(30)
        self.assertEqual(self.peer.recv(10), b'')
