"""The basic commands: ``help``, ``interactive`` and ``quit``."""
import inspect

from zc.monitor import plugins
from zc.monitor.protocol import (INTERACTIVE_BANNER, INTERACTIVE_MARKER,
                                 QUIT_MARKER, unknown_command)


def _commands_of(connection):
    """The commands the connection's server knows (else a fresh lookup)."""
    return getattr(connection, 'commands', None) or plugins.commands()


def help(connection, command_name=None):
    """Get help about server commands

    By default, a list of commands and summaries is printed. Provide a
    command name to get detailed documentation for a command.
    """
    commands = _commands_of(connection)
    if command_name is None:
        connection.write('Supported commands:\n')
        for name, command in commands.items():
            doc = inspect.getdoc(command)
            summary = doc.splitlines()[0] if doc else '?'
            connection.write(f'  {name} -- {summary}\n')
        return
    command = commands.get(command_name)
    if command is None:
        connection.write(unknown_command(command_name))
        return
    doc = inspect.getdoc(command) or 'No documentation.'
    connection.write(f'Help for {command_name}:\n\n{doc}\n')


def interactive(connection):
    """Turn on monitor's interactive mode

    Normally, the monitor releases the connection after a single command.
    By entering the interactive mode, the monitor will not end the
    connection until you enter the "quit" command.

    In interactive mode, an empty line repeats the last command.
    """
    connection.write(INTERACTIVE_BANNER)
    return INTERACTIVE_MARKER


def quit(connection):
    """Quit the monitor

    This is only really useful in interactive mode (see the "interactive"
    command).
    """
    connection.write('Goodbye.\n')
    return QUIT_MARKER
