"""Peer venvs are built once, reused, and kept off our own path."""
import subprocess
import unittest

from zc.stack import peers


class PeerTests(unittest.TestCase):

    def test_peer_is_built_once_and_isolated(self):
        requirements = ['six==1.16.0']
        python = peers.peer_python('selftest-six', requirements)
        done = subprocess.run(
            [python, '-c', 'import six, sys; print(six.__version__);'
             'print(any("zc.thread" in p for p in sys.path))'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(done.stdout.split(), ['1.16.0', 'False'],
                         done.stderr)
        stamp = python.parent.parent / 'zc-stack-requirements'
        built = stamp.stat().st_mtime_ns
        self.assertEqual(peers.peer_python('selftest-six', requirements),
                         python)
        self.assertEqual(stamp.stat().st_mtime_ns, built)

    def test_failed_install_names_the_peer(self):
        with self.assertRaises(peers.PeerError) as caught:
            peers.peer_python('selftest-broken', ['not a requirement!'],
                              pre_install=())
        self.assertIn("'selftest-broken'", str(caught.exception))
