"""The session's modes, without a socket: ``Server`` fed line by line."""
import unittest

import zc.monitor
from zc.monitor import protocol
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


def two(connection, a, b):
    connection.write(f'{a} {b}\n')


class WrongArgumentsTests(unittest.TestCase):
    """Wrong arguments get the command's usage line, not a traceback."""

    def setUp(self):
        self.output = Output()
        self.session = zc.monitor.Server(self.output, dict(
            two=two, interactive=zc.monitor.interactive,
            help=zc.monitor.help))

    def test_usage_line_instead_of_a_call(self):
        with self.assertNoLogs('zc.monitor', 'WARNING'):
            self.assertEqual(self.session.handle_input('two 1'), False)
        self.assertEqual(self.output.text, 'Usage: two A B\n')

    def test_interactive_sessions_go_on(self):
        self.session.handle_input('interactive')
        self.assertEqual([self.session.handle_input(line)
                          for line in ('two 1 2 3', 'two 1 2')],
                         [True, True])
        self.assertTrue(self.output.text.endswith(
            'Usage: two A B\n1 2\n'), self.output.text)

    def test_usage_of_optional_and_variable_arguments(self):
        def command(connection, first, second=1, third=2, *rest,
                    option=None):
            pass
        self.assertEqual(protocol.usage('cmd', command),
                         'Usage: cmd FIRST [SECOND [THIRD [REST ...]]]\n')
        self.assertEqual(protocol.usage('help', zc.monitor.help),
                         'Usage: help [COMMAND_NAME]\n')
        self.assertEqual(protocol.usage('none', lambda connection: None),
                         'Usage: none\n')
        self.assertIsNone(protocol.usage('builtin', min))

    def test_callables_without_a_signature_are_called(self):
        class Opaque:
            @property
            def __signature__(self):
                raise ValueError('no signature to be found')

            def __call__(self, connection, *args):
                connection.write(f'called {args}\n')
        command = Opaque()
        self.session.commands['opaque'] = command
        self.session.handle_input('opaque x')
        self.assertEqual(self.output.text, "called ('x',)\n")


class ErrorAnswerTests(unittest.TestCase):
    """``is_error`` tells the server's error answers from real ones."""

    def test_error_answers(self):
        for name, answer in (
                ('x', protocol.unknown_command('x')),
                ('help', protocol.unknown_command('nonesuch')),
                ('two', 'Usage: two A B\n'),
                ('f', 'Traceback (most recent call last):\n  File "x"\n'
                      'ValueError: no\n\n'),
                ('f', 'partial output\nTraceback (most recent call last):\n'
                      '  File "x"\nValueError: no\n\n')):
            self.assertTrue(protocol.is_error(name, answer), answer)

    def test_ordinary_answers(self):
        for name, answer in (
                ('help', 'Supported commands:\n  help -- Get help\n'),
                ('x', ''), ('x', 'Invalid command, said the command\n'),
                ('two', 'Usage: two is 2\nand more\n'),
                ('other', 'Usage: two A B\n'),
                ('help', 'Help for f:\n\n>>> f()\n'
                         'Traceback (most recent call last):\n...\n')):
            self.assertFalse(protocol.is_error(name, answer), answer)
