"""zc.zk.testing's process helper: ``stop_process``."""
import os
import signal
import socket
import subprocess
import sys
import unittest

from zc.zk.testing import stop_process

#: Seconds any single wait of these tests may take.
TIMEOUT = 30

#: A child whose second thread echoes each byte it receives.
ECHO = r'''
import socket, sys, threading
connection = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
def echo():
    while data := connection.recv(1):
        connection.sendall(data)
threading.Thread(target=echo, daemon=True).start()
sys.stdin.read()
'''


class StopProcessTests(unittest.TestCase):

    def test_no_thread_answers_once_it_returned(self):
        # With kill(SIGSTOP) alone, the echoing thread still answered 7
        # times in 100: 20 rounds catch that nearly always.
        listener = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(listener.close)
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        for _ in range(20):
            child = subprocess.Popen([sys.executable, '-c', ECHO, str(port)],
                                     stdin=subprocess.PIPE)
            try:
                connection, _ = listener.accept()
                with connection:
                    connection.settimeout(TIMEOUT)
                    connection.sendall(b'x')
                    self.assertEqual(connection.recv(1), b'x')
                    stop_process(child.pid)
                    connection.sendall(b'y')
                    connection.settimeout(0.1)
                    with self.assertRaises(TimeoutError):
                        connection.recv(1)
                    os.kill(child.pid, signal.SIGCONT)
                    connection.settimeout(TIMEOUT)
                    # Stopped, not dead: it answers once it goes on.
                    self.assertEqual(connection.recv(1), b'y')
            finally:
                child.kill()
                child.wait(TIMEOUT)
                child.stdin.close()

    def test_a_process_that_is_gone(self):
        child = subprocess.Popen([sys.executable, '-c', 'pass'])
        child.wait(TIMEOUT)
        with self.assertRaises(ProcessLookupError):
            stop_process(child.pid)
