"""A secondary in a process of its own, for tests that kill or stop it.

    python -m zc.zrs.tests.secondary_process PATH PORT

Replicates from 127.0.0.1:PORT into the FileStorage PATH (reconnecting
every 0.1 second) and prints ``ready``; then ``last`` on stdin prints the
hex tid of its last transaction, ``quit`` closes it.
"""
import sys

import ZODB.FileStorage

import zc.zrs


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    secondary = zc.zrs.Secondary(ZODB.FileStorage.FileStorage(path),
                                 ('127.0.0.1', port), reconnect_delay=0.1)
    print('ready', flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ['last']:
            print(secondary.lastTransaction().hex(), flush=True)
        elif words[:1] == ['quit']:
            break
    secondary.close()


if __name__ == '__main__':
    main()
