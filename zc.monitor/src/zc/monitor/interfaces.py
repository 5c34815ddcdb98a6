"""The plug-in points of the monitor.

Both are also reachable through entry points (groups ``zc.monitor`` and
``zc.monitor.metrics``), so a distribution can contribute commands and
metrics without importing zc.monitor at all.
"""
import zope.interface


class IMonitorPlugin(zope.interface.Interface):
    """A monitor command, registered as a utility named after its word."""

    def __call__(connection, *args):
        """Run the command.

        ``connection`` has ``write(str)``; ``args`` are the words that
        followed the command on the line, as strings. The first line of the
        docstring is the command's summary in ``help``.

        Returning ``zc.monitor.INTERACTIVE_MARKER`` keeps the connection
        open for more commands, ``QUIT_MARKER`` closes it, and
        ``MORE_MARKER`` sends every following line to this command (its
        words as ``args``) until it returns anything else.
        """


class IMetricsProvider(zope.interface.Interface):
    """Contributes metrics to the ``metrics`` command."""

    def __call__():
        """Return an iterable of metric families.

        Each is a ``(name, type, help, samples)`` tuple (or a
        ``zc.monitor.metrics.Metric``): ``type`` is ``'gauge'``,
        ``'counter'`` or ``'untyped'``, and ``samples`` is an iterable of
        ``(labels, value)`` pairs with ``labels`` a dict of strings.
        """
