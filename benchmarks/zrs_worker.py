"""One side of the zrs_replication benchmark, in a process of its own.

Runs with our Python (zc.zrs 4) or with the original's peer venv
(zc.zrs 3.1.0): it only uses the API both share. One command per line on
stdin, one JSON answer per line on stdout.

    python zrs_worker.py primary PATH PORT PLAIN_PATH
    python zrs_worker.py secondary PATH PORT

The primary process also holds a plain FileStorage (PLAIN_PATH), so the
throughput with and without replication is measured in the same process,
in alternating rounds.
"""
import json
import sys
import threading
import time


def answer(value):
    print(json.dumps(value), flush=True)


def main():
    role, path = sys.argv[1], sys.argv[2]
    import ZODB
    import ZODB.FileStorage
    import transaction
    storage = ZODB.FileStorage.FileStorage(path)
    if role == 'primary':
        import zc.zrs
        storage = zc.zrs.Primary(storage, ('127.0.0.1', int(sys.argv[3])))
        db = ZODB.DB(storage)
        conn = db.open()
        root = conn.root()
        plain_db = ZODB.DB(ZODB.FileStorage.FileStorage(sys.argv[4]))
        plain_tm = transaction.TransactionManager()
        plain_root = plain_db.open(plain_tm).root()
        answer('ready')
        for line in sys.stdin:
            words = line.split()
            if words[0] in ('commit', 'plain'):  # N commits of SIZE bytes
                count, size = int(words[1]), int(words[2])
                target, tm = ((root, transaction.manager)
                              if words[0] == 'commit'
                              else (plain_root, plain_tm))
                start = time.perf_counter()
                for i in range(count):
                    target['x'] = b'x' * size if size else i
                    tm.commit()
                answer([count / (time.perf_counter() - start),
                        storage.lastTransaction().hex(), time.time()])
            elif words[0] == 'isolated':  # N commits DELAY apart
                count, delay = int(words[1]), float(words[2])
                done = []
                for i in range(count):
                    time.sleep(delay)
                    root['x'] = i
                    transaction.commit()
                    done.append([storage.lastTransaction().hex(),
                                 time.time()])
                answer(done)
            elif words[0] == 'quit':
                break
        conn.close()
        db.close()
        plain_db.close()
    else:
        import zc.zrs
        started = time.time()
        storage = zc.zrs.Secondary(storage, ('127.0.0.1', int(sys.argv[3])),
                                   reconnect_delay=1)
        seen = {}
        watching = threading.Event()

        def watch():
            # Polls only while measuring lags: the polling costs CPU the
            # throughput rounds should not pay.
            last = None
            while True:
                watching.wait()
                tid = storage.lastTransaction()
                if tid != last:
                    seen[tid.hex()] = time.time()
                    last = tid
                time.sleep(0.0002)

        threading.Thread(target=watch, daemon=True).start()
        answer('ready')
        for line in sys.stdin:
            words = line.split()
            if words[0] == 'wait':  # until TID: [when, seconds since start]
                target = bytes.fromhex(words[1])
                deadline = time.time() + 300
                while (storage.lastTransaction() < target
                       and time.time() < deadline):
                    time.sleep(0.0005)
                now = time.time()
                if watching.is_set():  # the watcher's more precise time
                    for _ in range(100):
                        if words[1] in seen:
                            break
                        time.sleep(0.0005)
                when = seen.setdefault(words[1], now)
                answer([when, when - started])
            elif words[0] == 'watch':
                watching.set()
                answer('watching')
            elif words[0] == 'seen':
                answer(seen)
            elif words[0] == 'quit':
                break
        storage.close()


if __name__ == '__main__':
    main()
