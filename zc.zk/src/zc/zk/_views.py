"""Live views of a node: its children, or its properties.

A view reads its node with a ZooKeeper watch and reads it again whenever
the watch fires, so it always shows the current state, and calls its
callbacks when that state changes. Watches do not survive a lost
connection (kazoo fires them with an event of type NONE and forgets them);
the owning ``ZooKeeper`` refreshes every live view once it is connected
again, which also re-arms the watches.
"""
import collections.abc
import logging
import posixpath
import threading

from kazoo.exceptions import ConnectionLoss, NoNodeError, SessionExpiredError
from kazoo.protocol.states import EventType

from zc.zk._data import decode, encode
from zc.zk._errors import BadPropertyLink, CancelWatch, LinkLoop
from zc.zk._tree import PROPERTY_LINK

logger = logging.getLogger('zc.zk')


class _View:
    """What children and properties views share: reading with a watch,
    refreshing, callbacks, and what happens when the node goes away."""

    def __init__(self, zk, path, watch=True):
        self.zk = zk
        self.path = path
        self.watch = watch
        self.callbacks = []
        self._lock = threading.RLock()
        self._closed = False
        self._state = self._read()
        if watch:
            zk._add_view(self)

    @property
    def real_path(self):
        """The node shown, after following links from ``path``."""
        return self._state[0]

    def _read(self):
        """Read the node; return a comparable state, ``real_path`` first."""
        raise NotImplementedError

    def _empty(self):
        """The state of a view whose node is gone."""
        raise NotImplementedError

    def _watcher(self, event):
        if event.type == EventType.NONE:
            return  # connection lost: the ZooKeeper refreshes us later
        self.refresh()

    def refresh(self):
        """Read the node again (re-arming the watch); call the callbacks
        if it changed. Return False if the connection failed meanwhile."""
        with self._lock:
            if self._closed:
                return True
            try:
                state = self._read()
            except NoNodeError:
                self._gone()
                return True
            except (ConnectionLoss, SessionExpiredError):
                return False  # the ZooKeeper refreshes us when back
            if state != self._state:
                self._state = state
                self._notify()
            return True

    def __call__(self, callback):
        """Call ``callback(view)`` now and whenever the node changes;
        return the view (so this works as a decorator)."""
        if not self.watch:
            raise TypeError("Can't set callbacks without watching.")
        with self._lock:
            self.callbacks.append(callback)
            self.zk._subscribe(self)
            try:
                callback(self)
            except CancelWatch:
                self.callbacks.remove(callback)
            except BaseException:
                self.callbacks.remove(callback)
                raise
        return self

    def _notify(self):
        for callback in list(self.callbacks):
            try:
                callback(self)
            except CancelWatch:
                self.callbacks.remove(callback)
            except Exception:
                logger.exception('watch callback %r failed for %s; removed',
                                 callback, self.path)
                self.callbacks.remove(callback)

    def _gone(self):
        """The node is gone and ``path`` no longer resolves: show nothing,
        tell the callbacks by calling them without arguments, and stop."""
        self._state = self._empty()
        callbacks, self.callbacks = self.callbacks, []
        self.close()
        for callback in callbacks:
            try:
                callback()
            except TypeError:
                pass  # a callback that needs the view; nothing to give it
            except Exception:
                logger.exception('watch callback %r failed for deleted %s',
                                 callback, self.path)

    def close(self):
        """Stop watching; the view keeps its last state."""
        with self._lock:
            self._closed = True
        self.zk._remove_view(self)

    def __repr__(self):
        return f'<{type(self).__name__} {self.path}>'


class _Names:
    """Child names in the order ZooKeeper listed them, sorted only when
    iterated: a watch event must reach the callbacks without waiting for
    a sort (a thousand fresh names take ~120 us to sort, a tenth of a
    round trip). Equal when they hold the same names, whatever the
    order."""

    __slots__ = ('listed', '_sorted')

    def __init__(self, listed=()):
        self.listed = listed
        self._sorted = None

    def __eq__(self, other):
        if not isinstance(other, _Names):
            return NotImplemented
        return self.listed == other.listed or (
            len(self.listed) == len(other.listed)
            and set(self.listed) == set(other.listed))

    __hash__ = None

    def sorted(self):
        if self._sorted is None:    # a race only sorts twice
            self._sorted = tuple(sorted(self.listed))
        return self._sorted


class Children(_View):
    """The names of a node's children, kept current; iterable (in sorted
    order), with ``len()`` and ``in``."""

    def _read(self):
        return self.zk._at_real_path(self.path, self._read_at)

    def _read_at(self, real_path):
        children = self.zk.client.get_children(
            real_path, watch=self._watcher if self.watch else None)
        return real_path, _Names(children)

    def _empty(self):
        return self.real_path, _Names()

    def __iter__(self):
        return iter(self._state[1].sorted())

    def __len__(self):
        return len(self._state[1].listed)

    def __contains__(self, name):
        return name in self._state[1].listed


class _Broken:
    """A property link that cannot be followed: raised again on read."""

    def __init__(self, error):
        self.error = error

    def __eq__(self, other):
        return (isinstance(other, _Broken)
                and (type(self.error), self.error.args)
                == (type(other.error), other.error.args))

    __hash__ = None


class Properties(_View, collections.abc.Mapping):
    """A node's properties (its JSON data) as a read-only mapping kept
    current, with ``set``, ``update`` and item assignment to change them.

    Property links (``name => path [property]``) read as the linked value,
    and a change of a linked node counts as a change of this one.
    """

    def _read(self):
        return self.zk._at_real_path(self.path, self._read_at)

    def _read_at(self, real_path):
        watch = self._watcher if self.watch else None
        data, _ = self.zk.client.get(real_path, watch=watch)
        raw = decode(data, real_path)
        return real_path, raw, self._values(real_path, raw, watch)

    def _empty(self):
        return self.real_path, {}, {}

    def _values(self, real_path, raw, watch):
        values = {}
        for key, value in raw.items():
            if key.endswith(PROPERTY_LINK):
                name = key[:-len(PROPERTY_LINK)]
                try:
                    values[name] = self._follow(real_path, raw, name, value,
                                                watch)
                except (BadPropertyLink, LinkLoop) as error:
                    values[name] = _Broken(error)
            else:
                values.setdefault(key, value)
        return values

    def _follow(self, path, raw, name, link, watch, seen=()):
        """The value property link ``name => link`` of node ``path`` (whose
        properties are ``raw``) points at."""
        seen = (*seen, (path, name))
        target, _, target_name = str(link).strip().partition(' ')
        target_name = target_name.strip() or name
        target = posixpath.join(path, target)
        try:
            target = self.zk.resolve(target)
        except NoNodeError:
            raise BadPropertyLink(
                f'{path}: {name} => {link}: no node'
                f' {posixpath.normpath(target)}') from None
        if (target, target_name) in seen:
            raise LinkLoop(seen + ((target, target_name),))
        if target == path:
            target_raw = raw
        else:
            try:
                data, _ = self.zk.client.get(target, watch=watch)
            except NoNodeError:
                raise BadPropertyLink(
                    f'{path}: {name} => {link}: no node {target}') from None
            target_raw = decode(data, target)
        if target_name in target_raw:
            return target_raw[target_name]
        if target_name + PROPERTY_LINK in target_raw:
            return self._follow(target, target_raw, target_name,
                                target_raw[target_name + PROPERTY_LINK],
                                watch, seen)
        raise BadPropertyLink(
            f'{path}: {name} => {link}: {target} has no property'
            f' {target_name!r}')

    # Mapping

    def __getitem__(self, name):
        value = self._state[2][name]
        if isinstance(value, _Broken):
            raise value.error
        return value

    def __iter__(self):
        return iter(self._state[2])

    def __len__(self):
        return len(self._state[2])

    def __contains__(self, name):
        return name in self._state[2]

    def copy(self):
        """The properties as a plain dict (links followed)."""
        return {name: self[name] for name in self}

    # Changes

    def set(self, data=None, **properties):
        """Replace all properties (keywords win over ``data``)."""
        self._write({**(data or {}), **properties})

    def update(self, data=None, **properties):
        """Change some properties (keywords win over ``data``).

        Setting ``name`` replaces a property link ``name =>`` and the
        other way round.
        """
        changes = {**(data or {}), **properties}
        new = dict(self._state[1])
        for key in changes:
            if key.endswith(PROPERTY_LINK):
                new.pop(key[:-len(PROPERTY_LINK)], None)
            else:
                new.pop(key + PROPERTY_LINK, None)
        new.update(changes)
        self._write(new)

    def __setitem__(self, name, value):
        self.update({name: value})

    def _write(self, raw):
        # Not under the lock: the write may have to wait for watch
        # callbacks (this view's among them) to run.
        path = self.real_path
        for key, link in raw.items():
            if key.endswith(PROPERTY_LINK):
                name = key[:-len(PROPERTY_LINK)]
                try:
                    self._follow(path, raw, name, link, None)
                except (BadPropertyLink, LinkLoop) as cause:
                    raise ValueError('Bad property link', key, link,
                                     cause) from cause
        self.zk.set(path, encode(raw))
        if self.watch:
            self.refresh()
        else:
            with self._lock:
                self._state = (path, raw, self._values(path, raw, None))
