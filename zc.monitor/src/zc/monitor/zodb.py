"""The ZODB/ZEO commands: ``monitor``, ``dbinfo``, ``zeocache``, ``zeostatus``.

They find databases registered as ``ZODB.interfaces.IDatabase`` utilities:
Zope applications register theirs; plain ZODB and ZEO processes call
``register_database``. ZODB is imported only when a command runs (extra
``zodb``), so the entry points cost nothing in processes without it.
"""
import re
import time

import zope.component

from zc.monitor import process
from zc.monitor.metrics import Metric

#: The window of ``dbinfo`` and of the activity metrics, in seconds.
DELTAT = 300
_AGE = re.compile(r'\((\d+(?:\.\d+)?)s\)$')
_ZEO_CACHE_STATS = ('adds', 'added_bytes', 'evicts', 'evicted_bytes',
                    'accesses')


class _NoZODB(Exception):
    """ZODB is not installed."""


def _idatabase():
    try:
        from ZODB.interfaces import IDatabase
    except ImportError:
        raise _NoZODB('The ZODB commands need ZODB: install zc.monitor[zodb].')
    return IDatabase


def register_database(db, name='', activity_monitor=True):
    """Make ``db`` known to the ZODB commands as ``name``.

    ``''`` is the main database, the default of every command. Unless
    ``activity_monitor`` is false, a database without an activity monitor
    gets one, so that ``dbinfo`` has loads and stores to report.
    """
    IDatabase = _idatabase()
    if activity_monitor and db.getActivityMonitor() is None:
        from ZODB.ActivityMonitor import ActivityMonitor
        db.setActivityMonitor(ActivityMonitor())
    zope.component.provideUtility(db, IDatabase, name)


def unregister_database(name=''):
    """Forget the database registered as ``name``; return whether there
    was one."""
    return zope.component.getGlobalSiteManager().unregisterUtility(
        provided=_idatabase(), name=name)


def databases():
    """Sorted ``(name, database)`` pairs of the registered databases."""
    try:
        IDatabase = _idatabase()
    except _NoZODB:
        return []
    return sorted(zope.component.getUtilitiesFor(IDatabase),
                  key=lambda item: item[0])


def monitor(connection, long=100, database=''):
    """Get general process info

    The output has a number of lines:

    - The number of open connections to the database
    - The virtual memory size
    - The resident memory size
    - A line for each connection open for at least ``long`` seconds (by
      default 100; 0 lists every open connection), sorted by age: its age
      in seconds and its debug info

    ``database`` is the name of the database (default: the main one, also
    written ``-``).
    """
    db = _database(connection, database)
    long = _number(connection, 'long', long)
    if db is None or long is None:
        return
    opened = _opened_connections(db)
    connection.write(f'{len(opened)}\n')
    for line in process.status():
        connection.write(line + '\n')
    for age, info in sorted((age, info) for age, info in opened
                            if age >= long):
        connection.write(f'{age} {info}\n')


def dbinfo(connection, database='', deltat=DELTAT):
    """Get database statistics

    By default statistics are returned for the main database. The
    statistics are returned as a single line consisting of the:

    - number of database loads
    - number of database stores
    - number of connections
    - number of objects in the object caches (combined)
    - number of non-ghost objects in the object caches (combined)

    Loads, stores and connections are counted over the last ``deltat``
    seconds (default 300), and are -1 when the database has no activity
    monitor. Pass a database name, where ``-`` is the main database, to
    get statistics for a particular database.
    """
    db = _database(connection, database)
    deltat = _number(connection, 'deltat', deltat)
    if db is None or deltat is None:
        return
    loads, stores, connections = _activity(db, deltat)
    objects, non_ghosts = _cache_sizes(db)
    connection.write(
        f'{loads} {stores} {connections} {objects} {non_ghosts}\n')


def zeocache(connection, database=''):
    """Get ZEO client cache statistics

    The statistics are returned as a single line consisting of the:

    - number of records added to the cache
    - number of bytes added to the cache
    - number of records evicted from the cache
    - number of bytes evicted from the cache
    - number of cache accesses

    By default, data for the main database are returned. Pass a database
    name, where ``-`` is the main database, to get information for another
    database.
    """
    storage = _zeo_client(connection, database)
    if storage is not None:
        connection.write(' '.join(map(str, storage._cache.fc.getStats()))
                         + '\n')


def zeostatus(connection, database=''):
    """Get ZEO client status information

    The status is returned as True if the client is connected to a ZEO
    server and False otherwise.

    By default, data for the main database are returned. Pass a database
    name, where ``-`` is the main database, to get information for another
    database.
    """
    storage = _zeo_client(connection, database)
    if storage is not None:
        connection.write(f'{bool(storage.is_connected())}\n')


def metrics():
    """The numbers of the commands above, for every registered database."""
    families = {}

    def add(name, type, help, labels, value):
        family = families.setdefault(name, Metric(name, type, help, []))
        family.samples.append((labels, value))

    for name, db in databases():
        labels = {'database': name}
        add('zodb_connections_open', 'gauge',
            'Open connections of the database.',
            labels, len(_opened_connections(db)))
        objects, non_ghosts = _cache_sizes(db)
        add('zodb_cache_objects', 'gauge',
            'Objects in the object caches of the connections.',
            labels, objects)
        add('zodb_cache_non_ghost_objects', 'gauge',
            'Non-ghost objects in the object caches of the connections.',
            labels, non_ghosts)
        if db.getActivityMonitor() is not None:
            loads, stores, connections = _activity(db, DELTAT)
            for what, value in (('loads', loads), ('stores', stores),
                                ('connections', connections)):
                add(f'zodb_recent_{what}', 'gauge',
                    f'Database {what} in the last {DELTAT} seconds.',
                    labels, value)
        storage = db.storage
        if _is_zeo_client(storage):
            add('zeo_connected', 'gauge',
                '1 if the ZEO client storage is connected, else 0.',
                labels, int(bool(storage.is_connected())))
            for what, value in zip(_ZEO_CACHE_STATS,
                                   storage._cache.fc.getStats()):
                add(f'zeo_cache_{what}_total', 'counter',
                    f'ZEO client cache {what.replace("_", " ")}.',
                    labels, value)
    return list(families.values())


def _database(connection, name):
    """The database called ``name``, or None after telling the client."""
    if name == '-':
        name = ''
    try:
        IDatabase = _idatabase()
    except _NoZODB as error:
        connection.write(f'{error}\n')
        return None
    db = zope.component.queryUtility(IDatabase, name)
    if db is None:
        connection.write(f'No {_label(name)} is registered.\n')
    return db


def _zeo_client(connection, name):
    """The ZEO client storage of the database called ``name``, or None
    after telling the client why not."""
    db = _database(connection, name)
    if db is None:
        return None
    if not _is_zeo_client(db.storage):
        connection.write(f'The {_label(name)} does not use a ZEO client '
                         f'storage.\n')
        return None
    return db.storage


def _is_zeo_client(storage):
    # Duck typing: ZEO is not imported, and need not be installed.
    return hasattr(storage, 'is_connected') and hasattr(storage, '_cache')


def _label(name):
    return 'main database' if name in ('', '-') else f'database {name!r}'


def _number(connection, name, text):
    try:
        return float(text)
    except ValueError:
        connection.write(f'{name} must be a number of seconds, not '
                         f'{text!r}.\n')
        return None


def _opened_connections(db):
    """``(age in seconds, debug info)`` of each open connection."""
    opened = []
    for info in db.connectionDebugInfo():
        if info['opened']:
            match = _AGE.search(info['opened'])
            opened.append((float(match.group(1)) if match else 0.0,
                           info['info']))
    return opened


def _activity(db, deltat):
    """Loads, stores and connections in the last ``deltat`` seconds."""
    activity_monitor = db.getActivityMonitor()
    if activity_monitor is None:
        return -1, -1, -1
    now = time.time()
    analysis = activity_monitor.getActivityAnalysis(now - deltat, now, 1)[0]
    return analysis['loads'], analysis['stores'], analysis['connections']


def _cache_sizes(db):
    """Objects and non-ghost objects in the connections' caches."""
    details = db.cacheDetailSize()
    return (sum(detail['size'] for detail in details),
            sum(detail['ngsize'] for detail in details))
