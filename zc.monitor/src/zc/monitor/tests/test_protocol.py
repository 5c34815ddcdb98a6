"""The session's modes, without a socket: ``Server`` fed line by line."""
import unittest

import zc.monitor
from zc.monitor import INTERACTIVE_MARKER, MORE_MARKER, QUIT_MARKER


class Output:
    """A connection as the plug-in contract has it: ``write(str)``."""

    def __init__(self):
        self.text = ''

    def write(self, text):
        self.text += text


def record(connection, *args):
    connection.write(f'record {args}\n')


def repl(connection, *args):
    """Collect lines until "stop", "go interactive", "leave" or "fail"."""
    connection.write(f'repl {args}\n')
    if args == ('stop',):
        return None
    if args == ('go', 'interactive'):
        return INTERACTIVE_MARKER
    if args == ('leave',):
        return QUIT_MARKER
    if args == ('fail',):
        raise ValueError('repl failed')
    return MORE_MARKER


class SessionTests(unittest.TestCase):

    def setUp(self):
        self.output = Output()
        # A dict has the ``get`` of a server's plug-ins.
        self.session = zc.monitor.Server(self.output, dict(
            record=record, repl=repl, interactive=zc.monitor.interactive,
            quit=zc.monitor.quit))

    def feed(self, *lines):
        """Feed lines; return the answers to whether to stay open."""
        return [self.session.handle_input(line) for line in lines]

    def test_one_shot_by_default(self):
        self.assertIs(self.session.mode, QUIT_MARKER)
        self.assertEqual(self.feed('record a'), [False])
        self.assertEqual(self.session.last_command, ('record', ['a']))

    def test_empty_lines_repeat_the_last_command_and_its_arguments(self):
        self.assertEqual(self.feed('interactive', 'record a b', '', ' '),
                         [True] * 4)
        self.assertEqual(self.output.text.splitlines()[1:],
                         ["record ('a', 'b')"] * 3)

    def test_an_unknown_command_is_not_repeated(self):
        self.feed('interactive', 'record x', 'nonesuch', '')
        self.assertEqual(self.session.last_command, ('record', ['x']))
        self.assertTrue(self.output.text.endswith("record ('x',)\n"))

    def test_more_sends_every_line_to_the_command_even_empty_ones(self):
        self.assertEqual(self.feed('repl', '', 'a b', 'stop'),
                         [True, True, True, False])
        self.assertEqual(self.output.text,
                         "repl ()\nrepl ()\nrepl ('a', 'b')\nrepl ('stop',)\n")

    def test_more_ends_in_the_mode_from_before(self):
        self.feed('interactive', 'repl', 'stop')
        self.assertIs(self.session.mode, INTERACTIVE_MARKER)
        self.assertEqual(self.feed('record'), [True])

    def test_more_can_switch_to_interactive(self):
        self.assertEqual(self.feed('repl', 'go interactive', 'record'),
                         [True, True, True])
        self.assertIs(self.session.mode, INTERACTIVE_MARKER)

    def test_more_can_quit_an_interactive_session(self):
        self.assertEqual(self.feed('interactive', 'repl', 'leave'),
                         [True, True, False])

    def test_a_failure_in_more_mode_ends_it(self):
        with self.assertLogs('zc.monitor', 'WARNING'):
            self.assertEqual(self.feed('interactive', 'repl', 'fail'),
                             [True, True, True])
        self.assertIs(self.session.mode, INTERACTIVE_MARKER)
        self.assertIn('ValueError: repl failed\n\n', self.output.text)
        self.assertEqual(self.feed('record'), [True])
        self.assertTrue(self.output.text.endswith('record ()\n'))

    def test_close_drops_a_waiting_command(self):
        self.feed('interactive', 'repl')
        self.session.handle_close('client closed')
        self.assertEqual(self.feed('repl'), [True])
        self.assertEqual(self.output.text.count('repl'), 2)

    def test_markers_say_what_they_are(self):
        self.assertEqual(repr(MORE_MARKER), 'zc.monitor.MORE_MARKER')
