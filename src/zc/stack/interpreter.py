"""``bin/py``: Python with every distribution of the stack importable.

buildout writes the script (``buildout.cfg``, part ``scripts``), putting
the environment on ``sys.path``; this module gives it the command line of
``python`` itself for the options people use with it::

    bin/py [-i] [-c COMMAND | -m MODULE | SCRIPT | -] [ARG ...]

An unknown option is refused in one line (exit status 2), as Python does.
"""
import code
import os
import runpy
import sys

USAGE = 'usage: {prog} [-i] [-c COMMAND | -m MODULE | SCRIPT | -] [ARG ...]'
HELP = USAGE + '''

Python with every distribution of the zc stack importable.

  -c COMMAND  run the program passed as a string
  -m MODULE   run a library module as a script
  -i          inspect interactively after running the program
  -I          accepted and ignored (the environment is isolated already)
  -h, --help  show this help and exit
  SCRIPT      run the program read from a file (- reads standard input)
  ARG ...     the program's arguments, in sys.argv[1:]

With no program, it starts an interactive session.'''


class UsageError(Exception):
    """The command line is wrong; the message says how."""


def parse(args):
    """``(inspect, kind, target, rest)`` from a command line, where kind is
    'c', 'm', 'script' or None (interactive)."""
    inspect = False
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg in ('-h', '--help'):
            return inspect, 'help', None, []
        if arg in ('-c', '-m'):
            if not args:
                raise UsageError(f'argument expected for the {arg} option')
            return inspect, arg[1], args[0], args[1:]
        if arg.startswith(('-c', '-m')) and not arg.startswith('--'):
            return inspect, arg[1], arg[2:], args
        if arg == '-i':
            inspect = True
        elif arg == '-I':
            pass
        elif arg == '-' or not arg.startswith('-'):
            return inspect, 'script', arg, args
        else:
            raise UsageError(f'unknown option {arg}')
    return True, None, None, []


def run(kind, target, rest, namespace):
    """Run the program the way ``python`` would, in ``namespace``."""
    if kind == 'c':
        sys.argv[:] = ['-c', *rest]
        sys.path.insert(0, '')
        exec(compile(target, '<string>', 'exec'), namespace)
    elif kind == 'm':
        sys.argv[:] = [target, *rest]
        sys.path.insert(0, os.getcwd())
        namespace.update(runpy.run_module(target, run_name='__main__',
                                          alter_sys=True))
    elif target == '-':
        sys.argv[:] = ['-', *rest]
        exec(compile(sys.stdin.read(), '<stdin>', 'exec'), namespace)
    else:
        sys.argv[:] = [target, *rest]
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        namespace.update(runpy.run_path(target, run_name='__main__'))


def main(args=None):
    prog = os.path.basename(sys.argv[0]) or 'py'
    try:
        inspect, kind, target, rest = parse(
            sys.argv[1:] if args is None else args)
    except UsageError as e:
        print(f'{prog}: {e} ({prog} --help lists the options)',
              file=sys.stderr)
        return 2
    if kind == 'help':
        print(HELP.format(prog=prog))
        return 0
    namespace = {'__name__': '__main__'}
    if kind == 'script' and target != '-' and not os.path.isfile(target):
        print(f"{prog}: can't open file {target!r}: no such file",
              file=sys.stderr)
        return 2
    if kind:
        run(kind, target, rest, namespace)
    if inspect:
        code.interact(banner='', local=namespace)
    return 0
