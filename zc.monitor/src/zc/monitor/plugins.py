"""Finding plug-ins: named zope.component utilities, then entry points.

Utilities come first so that a registration in code or ZCML can replace a
command an installed distribution offers. Entry points are read once per
``Plugins`` object (a monitor server keeps one), because scanning the
installed distributions costs milliseconds and the answer only changes when
software is installed.
"""
import importlib.metadata
import logging
import os
import threading
import time

import zope.component

from zc.monitor.interfaces import IMetricsProvider, IMonitorPlugin

logger = logging.getLogger(__name__)

COMMANDS_GROUP = 'zc.monitor'
METRICS_GROUP = 'zc.monitor.metrics'


def register(command, name=None):
    """Register ``command`` as the monitor command ``name``.

    ``name`` defaults to the callable's ``__name__``. The registration is a
    global named utility providing ``IMonitorPlugin``, like one made in ZCML.
    """
    zope.component.provideUtility(
        command, IMonitorPlugin, name or command.__name__)


#: Held while a plug-in's modules are imported, and across a fork: a child
#: forked while another thread was half-way through an import would keep
#: that module half-initialized for ever (a daemonizing zdaemon manager
#: forks while its monitor may be answering ``help``).
_importing = threading.RLock()
os.register_at_fork(before=_importing.acquire,
                    after_in_parent=_importing.release,
                    after_in_child=_importing.release)

class _Loading(threading.local):
    """Per thread: CPU seconds spent loading plug-ins (see
    ``loading_cpu``)."""
    cpu = 0.0


_loading = _Loading()


def loading_cpu():
    """The CPU seconds this thread spent loading plug-ins (importing their
    modules) since it last asked.

    A monitor leaves them out of its CPU budget: they are a once-per-process
    cost of the software installed, not of the command that happens to come
    first (charged to it, a fresh monitor's first ``help`` paused for
    seconds at the default 2% budget).
    """
    spent, _loading.cpu = _loading.cpu, 0.0
    return spent


class Plugins:
    """The plug-ins of one kind (commands or metrics providers)."""

    def __init__(self, interface=IMonitorPlugin, group=COMMANDS_GROUP):
        self.interface = interface
        self.group = group
        self._entry_points = {
            entry_point.name: entry_point
            for entry_point in importlib.metadata.entry_points(group=group)}
        self._loaded = {}

    def get(self, name):
        """The plug-in called ``name``, or None.

        An entry point that cannot be loaded raises its error here, so that
        the user who asked for it sees why.
        """
        utility = zope.component.queryUtility(self.interface, name)
        if utility is not None:
            return utility
        try:
            return self._loaded[name]
        except KeyError:
            pass
        entry_point = self._entry_points.get(name)
        if entry_point is None:
            return None
        started = time.thread_time()
        with _importing:
            plugin = self._loaded[name] = entry_point.load()
        _loading.cpu += time.thread_time() - started
        return plugin

    def items(self):
        """Sorted ``(name, plugin)`` pairs of every plug-in.

        A broken entry point is logged and left out rather than hiding the
        working ones.
        """
        found = dict(zope.component.getUtilitiesFor(self.interface))
        for name in self._entry_points:
            if name in found:
                continue
            try:
                found[name] = self.get(name)
            except Exception:
                logger.warning('Cannot load %s plug-in %r', self.group, name,
                               exc_info=True)
        return sorted(found.items())


def commands():
    """The monitor commands."""
    return Plugins(IMonitorPlugin, COMMANDS_GROUP)


def metrics_providers():
    """The providers of metrics for the ``metrics`` command."""
    return Plugins(IMetricsProvider, METRICS_GROUP)
