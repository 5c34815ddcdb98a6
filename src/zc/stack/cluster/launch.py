"""Run an installed console script by name: ``python -m
zc.stack.cluster.launch zkrunzeo -C zeo.conf``.

zdaemon runs each service's program from its configuration; naming the
console script's entry point instead of its file makes that work the same
in a buildout (scripts in ``bin/``) and in a pip environment (scripts next
to the interpreter), with the import path zc-stack passes down.
"""
import importlib.metadata
import sys


def entry_point(name):
    """The ``console_scripts`` entry point called ``name``, or None."""
    found = importlib.metadata.entry_points(group='console_scripts',
                                            name=name)
    return next(iter(found), None)


def main(args=None):
    args = sys.argv[1:] if args is None else list(args)
    if not args:
        print('usage: python -m zc.stack.cluster.launch SCRIPT [ARG ...]',
              file=sys.stderr)
        return 2
    point = entry_point(args[0])
    if point is None:
        print(f'no console script {args[0]!r} is installed', file=sys.stderr)
        return 2
    sys.argv = args
    return point.load()()


if __name__ == '__main__':
    sys.exit(main())
