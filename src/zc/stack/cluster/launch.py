"""Run an installed console script by name: ``python -m
zc.stack.cluster.launch [--after-gone ZOOKEEPER PATH] zkrunzeo -C
zeo.conf``.

zdaemon runs each service's program from its configuration; naming the
console script's entry point instead of its file makes that work the same
in a buildout (scripts in ``bin/``) and in a pip environment (scripts next
to the interpreter), with the import path zc-stack passes down.

``--after-gone`` first waits (``GONE_TIMEOUT`` at most) until the
ZooKeeper node ``PATH`` does not exist: a database node that zdaemon
restarts at once after a crash waits until the election's record of its
previous life (an ephemeral node of the dead process's session) is gone,
instead of coming back under the same name while ZooKeeper still counts
the dead process as live, and racing the election that replaces it.
"""
import importlib.metadata
import sys
import threading

#: Seconds to wait for a previous life's node to go: its session's
#: timeout and then some. Past it, the program starts anyway.
GONE_TIMEOUT = 30.0
#: Seconds to wait for ZooKeeper to answer before starting anyway.
CONNECT_TIMEOUT = 10.0

USAGE = ('usage: python -m zc.stack.cluster.launch [--after-gone ZOOKEEPER'
         ' PATH] SCRIPT [ARG ...]')


def entry_point(name):
    """The ``console_scripts`` entry point called ``name``, or None."""
    found = importlib.metadata.entry_points(group='console_scripts',
                                            name=name)
    return next(iter(found), None)


def wait_gone(connection, path, timeout=GONE_TIMEOUT,
              connect_timeout=CONNECT_TIMEOUT):
    """Wait until ``path`` does not exist in ZooKeeper ``connection``;
    None once it is gone, else why we stopped waiting."""
    import zc.zk
    try:
        zk = zc.zk.ZooKeeper(connection, connect_timeout=connect_timeout)
    except zc.zk.FailedConnect:
        return f'cannot connect to ZooKeeper at {connection}'
    try:
        gone = threading.Event()

        def watch(data, stat):
            if stat is None:
                gone.set()
                return False  # stop watching
        zk.client.DataWatch(path, watch)
        if not gone.wait(timeout):
            return f'{path} is still there after {timeout:g}s'
        return None
    finally:
        zk.close()


def main(args=None):
    args = sys.argv[1:] if args is None else list(args)
    if args[:1] == ['--after-gone']:
        if len(args) < 3:
            print(USAGE, file=sys.stderr)
            return 2
        _, connection, path, *args = args
        problem = wait_gone(connection, path)
        if problem is not None:
            print(f'launch: {problem}: starting anyway', file=sys.stderr)
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    point = entry_point(args[0])
    if point is None:
        print(f'no console script {args[0]!r} is installed', file=sys.stderr)
        return 2
    sys.argv = args
    return point.load()()


if __name__ == '__main__':
    sys.exit(main())
