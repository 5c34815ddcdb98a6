"""The control protocol: the client against a scripted server, and both
halves of the status reply and of the start report."""
import os
import socket
import tempfile
import threading
import unittest

from zdaemon import _control


class ControlTests(unittest.TestCase):

    def serve_once(self, reply):
        """A one-shot server replying ``reply``; returns (path, received)."""
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        path = os.path.join(directory, 'sock')
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        self.addCleanup(os.unlink, path)
        received = []

        def serve():
            conn, _ = server.accept()
            with conn:
                data = b''
                while not data.endswith(b'\n'):
                    chunk = conn.recv(100)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                conn.sendall(reply)
            server.close()
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        return path, received

    def test_command_and_reply(self):
        path, received = self.serve_once(b'Signal 15 sent\n')
        self.assertEqual(_control.send_command(path, 'kill 15'),
                         'Signal 15 sent\n')
        self.assertEqual(received, [b'kill 15\n'])

    def test_no_manager(self):
        self.assertIsNone(_control.send_command('/nonexistent/zdsock',
                                                'status'))

    def test_parse_status(self):
        status = _control.parse_status(
            'status=running\nnow=1.5\nshould_be_up=1\ndelay=0\nbackoff=2\n'
            'lasttime=1.25\napplication=42\ntesting=0\nmanager=41\n'
            "backofflimit=10\nfilename='/bin/sleep'\n"
            "args=['sleep', '100']\n\n")
        self.assertEqual(status, {
            'status': 'running', 'now': 1.5, 'should_be_up': 1,
            'delay': 0.0, 'backoff': 2, 'lasttime': 1.25,
            'application': 42, 'testing': 0, 'manager': 41,
            'backofflimit': 10, 'filename': '/bin/sleep',
            'args': ['sleep', '100']})

    def test_status_round_trip(self):
        fields = {
            'status': 'stopped', 'now': 2.5, 'should_be_up': 1,
            'delay': 3.5, 'backoff': 1, 'lasttime': 1.0,
            'application': 0, 'testing': 0, 'manager': 41,
            'backofflimit': 10, 'filename': "/opt/it's here",
            'args': ['prog', 'a b', "'"]}
        reply = _control.format_status(fields)
        self.assertEqual([line.split('=')[0] for line in reply.splitlines()],
                         list(_control.STATUS_KEYS))
        self.assertEqual(_control.parse_status(reply), fields)

    def test_start_report(self):
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, read_fd)
        _control.write_report(write_fd, 'note', 'it exited; restarting')
        _control.write_report(write_fd, 'exit', 'it ended')
        os.close(write_fd)
        data = os.read(read_fd, 1000)
        self.assertEqual(_control.read_report(data + b'exit incompl'), [
            ('note', 'it exited; restarting'), ('exit', 'it ended')])
        # Nobody listening any more (EPIPE) is not an error:
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, write_fd)
        os.close(read_fd)
        _control.write_report(write_fd, 'note', 'too late')
