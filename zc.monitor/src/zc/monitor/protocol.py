"""The monitor's conversation with one client, independent of sockets.

The listener feeds ``Server.handle_input`` one line at a time and closes
the connection when it answers False; everything about modes, repeating the
last command and reporting errors lives here, so it can be tested (and
reused over another transport) without a socket. So do the forms of the
server's error answers, which clients recognize with ``is_error``.
"""
import inspect
import logging
import re
import traceback

logger = logging.getLogger('zc.monitor')

#: Traceback frames written to the client when a command fails.
TRACEBACK_LIMIT = 100


class _Marker:
    """A value a command returns to change the connection's mode."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f'zc.monitor.{self.name}'


#: Keep the connection open after each command (the ``interactive`` mode).
INTERACTIVE_MARKER = _Marker('INTERACTIVE_MARKER')
#: Close the connection (``quit``); also the one-shot mode's name.
QUIT_MARKER = _Marker('QUIT_MARKER')
#: Send every following line to the same command.
MORE_MARKER = _Marker('MORE_MARKER')

#: What ``interactive`` answers: clients check for it to know they are
#: talking to a monitor.
INTERACTIVE_BANNER = 'Interactive mode on.  Use "quit" to exit.\n'
_TRACEBACK_HEADER = 'Traceback (most recent call last):'
_UNKNOWN_COMMAND = re.compile(r'Invalid command .*\. Try "help"\.\n', re.S)


def unknown_command(name):
    """The answer to a command nobody provides."""
    return f'Invalid command {name!r}. Try "help".\n'


def usage(name, command):
    """``Usage: NAME ARG [OPTIONAL [MORE ...]]``, from ``command``'s
    signature (the connection argument left out); None if it has none."""
    try:
        parameters = list(inspect.signature(command).parameters.values())
    except (TypeError, ValueError):
        return None
    if parameters and parameters[0].kind is not parameters[0].VAR_POSITIONAL:
        parameters = parameters[1:]  # the connection
    words, nesting = [name], ''
    for parameter in parameters:
        word = parameter.name.upper()
        if parameter.kind is parameter.VAR_POSITIONAL:
            words.append(f'[{word} ...]')
        elif parameter.kind in (parameter.POSITIONAL_ONLY,
                                parameter.POSITIONAL_OR_KEYWORD):
            if parameter.default is parameter.empty:
                words.append(word)
            else:
                words.append(f'[{word}')
                nesting += ']'
    return f'Usage: {" ".join(words)}{nesting}\n'


def _accepts(command, connection, args):
    """Whether ``command`` can be called with these arguments (True when
    its signature cannot be known)."""
    try:
        signature = inspect.signature(command)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(connection, *args)
    except TypeError:
        return False
    return True


def is_error(name, answer):
    """Whether ``answer``, the whole answer to command ``name``, is one of
    the server's error answers: an unknown command, a usage line (wrong
    arguments) or the traceback of a failed command."""
    return bool(_UNKNOWN_COMMAND.fullmatch(answer)
                or (answer.startswith(f'Usage: {name}')
                    and answer.count('\n') == 1 and answer.endswith('\n'))
                or (answer.endswith('\n\n')
                    and _TRACEBACK_HEADER in answer.splitlines()))


class Server:
    """One client's session.

    ``mode`` is ``QUIT_MARKER`` while the connection is one-shot (it closes
    after a command), ``INTERACTIVE_MARKER`` once a command asked to keep it
    open, and ``MORE_MARKER`` while a command receives every line.
    ``last_command`` is the ``(name, args)`` an empty line repeats.
    """

    def __init__(self, connection, commands):
        self.connection = connection
        self.commands = commands
        self.mode = QUIT_MARKER
        self.last_command = None
        self._more = None  # (name, command) receiving lines in MORE mode
        self._mode_after_more = QUIT_MARKER

    def handle_input(self, line):
        """Handle one line (its newline removed); return whether the
        connection stays open."""
        words = line.split()
        if self.mode is MORE_MARKER:
            name, command = self._more
            return self._call(name, command, words)
        if words:
            name, args = words[0], words[1:]
        elif self.last_command is None:
            return True
        else:
            name, args = self.last_command
        try:
            command = self.commands.get(name)
        except Exception as error:
            return self._failed(name, error)
        if command is None:
            self.connection.write(unknown_command(name))
            return self.mode is INTERACTIVE_MARKER
        self.last_command = name, args
        return self._call(name, command, args)

    def handle_close(self, reason):
        """The connection closed (``reason`` says why): drop the command a
        ``MORE_MARKER`` left waiting."""
        logger.debug('Monitor connection closed: %s', reason)
        self._end_more()

    def _call(self, name, command, args):
        if not _accepts(command, self.connection, args):
            # The client's mistake, not the command's: no traceback.
            self.connection.write(usage(name, command))
            self._end_more()
            return self.mode is INTERACTIVE_MARKER
        try:
            result = command(self.connection, *args)
        except Exception as error:
            return self._failed(name, error)
        if result is MORE_MARKER:
            if self.mode is not MORE_MARKER:
                self._mode_after_more = self.mode
            self.mode = MORE_MARKER
            self._more = name, command
            return True
        self._end_more()
        if result is INTERACTIVE_MARKER:
            self.mode = INTERACTIVE_MARKER
        elif result is QUIT_MARKER:
            return False
        return self.mode is INTERACTIVE_MARKER

    def _failed(self, name, error):
        """Report a failing command to its client and the log."""
        logger.warning('Monitor command %r failed', name, exc_info=error)
        self.connection.write(''.join(traceback.format_exception(
            error, limit=TRACEBACK_LIMIT)) + '\n')
        self._end_more()
        return self.mode is INTERACTIVE_MARKER

    def _end_more(self):
        if self.mode is MORE_MARKER:
            self.mode = self._mode_after_more
            self._more = None
