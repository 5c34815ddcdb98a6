"""A primary in a process of its own, for tests that kill it.

    python -m zc.zrs.tests.primary_process PATH PORT [storm]

Prints ``ready`` once it listens on 127.0.0.1:PORT. With ``storm`` it
commits transactions of a few objects, of varying sizes, as fast as it can
until killed. Commands on stdin: ``commit N`` (prints ``done``), ``last``
(prints the hex tid of the last transaction), ``quit``.
"""
import os
import sys
import threading

import ZODB
from persistent.mapping import PersistentMapping
import ZODB.FileStorage

import zc.zrs


def commit(db, count, counter=[0]):
    """Transactions changing 1 to 4 of 40 objects, with up to 8 KB."""
    for _ in range(count):
        counter[0] += 1
        with db.transaction(f'commit {counter[0]}') as conn:
            root = conn.root()
            for i in range(counter[0] % 4 + 1):
                key = f'k{(counter[0] + i) % 40}'
                if key not in root:
                    root[key] = PersistentMapping()
                root[key]['data'] = os.urandom(10 * (counter[0] % 200 + 1))


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    storm = sys.argv[3:] == ['storm']
    primary = zc.zrs.Primary(ZODB.FileStorage.FileStorage(path),
                             ('127.0.0.1', port))
    db = ZODB.DB(primary)
    if storm:
        threading.Thread(target=commit, args=(db, 10 ** 9),
                         daemon=True).start()
    print('ready', flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ['commit']:
            commit(db, int(words[1]))
            print('done', flush=True)
        elif words[:1] == ['last']:
            print(primary.lastTransaction().hex(), flush=True)
        elif words[:1] == ['quit']:
            break
    db.close()


if __name__ == '__main__':
    main()
