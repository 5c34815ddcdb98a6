"""What users see when they get something wrong: one line naming what is
wrong and the documented exit status, never a traceback. The scripts and
runzeo run as child processes, as users run them."""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

from zc.zrs.tests import support

#: TEST-NET-1 (RFC 5737): never an address of this machine.
NOT_LOCAL = '192.0.2.1'


def run(*args, cwd=None):
    """``(exit status, stdout, stderr)`` of ``python args...``."""
    done = subprocess.run([sys.executable, *args], env=support.python_env(),
                          capture_output=True, text=True, cwd=cwd,
                          timeout=support.TIMEOUT)
    return done.returncode, done.stdout, done.stderr


class NotZEO:
    """A server that answers every connection with a sized message that is
    no ZEO status."""

    def __init__(self, answer):
        self.socket = socket.socket()
        self.socket.bind(('127.0.0.1', 0))
        self.socket.listen()
        self.socket.settimeout(support.TIMEOUT)
        self.address = '127.0.0.1:%s' % self.socket.getsockname()[1]
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            connection, _ = self.socket.accept()
        except OSError:
            return
        with connection:
            connection.sendall(b''.join(struct.pack('>I', len(message))
                                        + message
                                        for message in (b'Z5', self.answer)))
            connection.recv(100)

    def close(self):
        self.socket.close()
        self.thread.join(support.TIMEOUT)


class ScriptTests(unittest.TestCase):

    def assertOneLine(self, stream, *words):
        self.assertNotIn('Traceback', stream)
        [line] = [line for line in stream.splitlines()
                  if all(word in line for word in words)]
        return line

    def test_ports_out_of_range(self):
        for module, args in (('zc.zrs.nagios', ['-m', '127.0.0.1:1']),
                             ('zc.zrs.lastzeo', [])):
            status, out, err = run('-m', module, '127.0.0.1:99999', *args)
            self.assertEqual(status, 2, module)
            self.assertOneLine(err, "'127.0.0.1:99999'", 'port 99999',
                               '1-65535')
            self.assertEqual(out, '')

    def test_nagios_unknown_for_a_server_that_is_not_zeo(self):
        for answer in (b'not json', b'[1, 2]', b'{"1": {"x": 1}}'):
            server = NotZEO(answer)
            self.addCleanup(server.close)
            status, out, err = run('-m', 'zc.zrs.nagios', '-m',
                                   server.address, '127.0.0.1:1')
            self.assertEqual(status, 3, answer)
            self.assertEqual(len(out.splitlines()), 1)
            self.assertOneLine(out, f'primary at {server.address} is not a '
                                    f'ZEO server')

    def test_help_tells_the_exit_statuses(self):
        status, out, err = run('-m', 'zc.zrs.nagios', '--help')
        self.assertEqual(status, 0)
        self.assertIn('3 unknown', ' '.join(out.split()))
        status, out, err = run('-m', 'zc.zrs.lastzeo', '--help')
        self.assertEqual(status, 0)
        self.assertIn('Exit status: 0', out)


ZEO_CONFIG = '''\
%import zc.zrs
<zeo>
  address 127.0.0.1:{zeo_port}
</zeo>
<zrs>
  {replication}
  <filestorage>
    path Data.fs
  </filestorage>
</zrs>
'''


class RunZEOTests(unittest.TestCase):
    """runzeo with a <zrs> section it cannot start."""

    def runzeo(self, replication, zeo_port=None):
        zeo_port = zeo_port or support.free_port()
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        with open(os.path.join(tmp.name, 'zeo.conf'), 'w') as f:
            f.write(ZEO_CONFIG.format(zeo_port=zeo_port,
                                      replication=replication))
        status, out, err = run('-m', 'ZEO.runzeo', '-C', 'zeo.conf',
                               cwd=tmp.name)
        self.assertEqual(status, 2, err)
        self.assertNotIn('Traceback', out + err)
        [line] = [line for line in err.splitlines()
                  if line.startswith('Error:')]
        return line

    def test_replicate_to_an_address_of_another_machine(self):
        port = support.free_port()
        self.assertEqual(
            self.runzeo(f'replicate-to {NOT_LOCAL}:{port}'),
            f"Error: zrs storage '1': replicate-to {NOT_LOCAL}:{port}: cannot"
            f" listen there: Cannot assign requested address")

    def test_replicate_to_the_zeo_port(self):
        port = support.free_port()
        self.assertEqual(
            self.runzeo(f'replicate-to 127.0.0.1:{port}', zeo_port=port),
            f"Error: zrs storage '1': replicate-to 127.0.0.1:{port} is the "
            f"address of the ZEO server itself")
        self.assertEqual(
            self.runzeo(f'replicate-to {port}', zeo_port=port),
            f"Error: zrs storage '1': replicate-to :{port} is the "
            f"address of the ZEO server itself")

    def test_replicate_to_a_port_in_use(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            self.assertEqual(
                self.runzeo(f'replicate-to 127.0.0.1:{port}'),
                f"Error: zrs storage '1': replicate-to 127.0.0.1:{port}: "
                f"cannot listen there: Address already in use")

    def test_zookeeper_that_cannot_be_reached(self):
        port = support.free_port()
        self.assertEqual(
            self.runzeo(f'replicate-from /db\nzookeeper 127.0.0.1:{port}\n'
                        f'zookeeper-session-timeout 1'),
            f"Error: zrs storage '1': zookeeper 127.0.0.1:{port}: cannot "
            f"connect to ZooKeeper")


class OpeningTests(unittest.TestCase):
    """Outside runzeo, the error is the original one, with a note naming
    the key."""

    def test_the_note_names_replicate_to(self):
        import ZODB.config
        import zc.zrs.loop
        self.addCleanup(zc.zrs.loop.stop)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        port = support.free_port()
        with self.assertRaises(OSError) as caught:
            ZODB.config.storageFromString(f'''
                %import zc.zrs
                <zrs main>
                  replicate-to {NOT_LOCAL}:{port}
                  <filestorage>
                    path {tmp.name}/Data.fs
                  </filestorage>
                </zrs>''')
        self.assertEqual(caught.exception.__notes__, [
            f"zrs storage 'main': replicate-to {NOT_LOCAL}:{port}: cannot "
            f"listen there: Cannot assign requested address"])
