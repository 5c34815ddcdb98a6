"""Drive the ORIGINAL zc.zrs 3.1.0 as a black box, in its own venv.

Run with the peer venv's python (never imported by our code)::

    python zrs_peer.py primary|secondary PATH HOST:PORT [BLOB_DIR]

It opens a FileStorage at PATH (with blobs when BLOB_DIR is given), wraps it
in the original's documented ``zc.zrs.Primary(storage, addr)`` or
``zc.zrs.Secondary(storage, addr, reconnect_delay=1)``, prints ``ready`` and
then obeys one command per line on stdin:

``commit N SIZE``   (primary) N transactions, each storing SIZE bytes
``blob NAME SIZE``  (primary) one transaction storing a SIZE-byte blob
``last``            print the hex tid of the last transaction
``quit``            close cleanly and exit
"""
import binascii
import sys


def main():
    role, path, address = sys.argv[1:4]
    blob_dir = sys.argv[4] if len(sys.argv) > 4 else None
    import ZODB.DB
    import ZODB.FileStorage
    import transaction
    import zc.zrs

    host, port = address.rsplit(':', 1)
    storage = ZODB.FileStorage.FileStorage(path, blob_dir=blob_dir)
    if role == 'primary':
        storage = zc.zrs.Primary(storage, (host, int(port)))
        db = ZODB.DB(storage)
    else:
        storage = zc.zrs.Secondary(storage, (host, int(port)),
                                   reconnect_delay=1)
        db = None
    print('ready', flush=True)
    counter = 0
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == 'commit':
            count, size = int(words[1]), int(words[2])
            conn = db.open()
            for _ in range(count):
                counter += 1
                conn.root()['k%d' % (counter % 50)] = b'x' * size
                transaction.get().note(u'commit %d' % counter)
                transaction.commit()
            conn.close()
            print('done', flush=True)
        elif words[0] == 'blob':
            import ZODB.blob
            conn = db.open()
            blob = ZODB.blob.Blob()
            with blob.open('w') as f:
                f.write(b'b' * int(words[2]))
            conn.root()[words[1]] = blob
            transaction.commit()
            conn.close()
            print('done', flush=True)
        elif words[0] == 'last':
            print(binascii.hexlify(storage.lastTransaction()).decode(),
                  flush=True)
        elif words[0] == 'quit':
            break
    if db is not None:
        db.close()
    else:
        storage.close()
    print('closed', flush=True)


if __name__ == '__main__':
    main()
