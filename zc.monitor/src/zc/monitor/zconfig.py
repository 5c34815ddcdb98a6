"""The ZConfig ``<monitor>`` section (see component.xml).

ZEO and zdaemon schemas accept foreign sections only as log handlers, so
the section is a handler factory: configuring logging starts the monitor,
and closing the handler (``logging.shutdown`` at exit included) stops it.
"""
import logging

from ZConfig.components.logger.factory import Factory

from zc.monitor.listener import Listener, open_or_warn
from zc.monitor.metrics_http import MetricsServer

logger = logging.getLogger('zc.monitor')


def cpu_budget(text):
    """``2%`` (or ``0.02``) as a share of one CPU, ``none`` as None."""
    text = text.strip().lower()
    if text == 'none':
        return None
    share = float(text[:-1]) / 100 if text.endswith('%') else float(text)
    if not 0 < share <= 1:
        raise ValueError(f'a CPU budget is more than 0% and at most 100%, '
                         f'not {text!r}')
    return share


class MonitorFactory(Factory):
    """Creates the ``MonitorHandler`` that runs the configured monitor."""

    def __init__(self, section):
        super().__init__()
        self.section = section

    def create(self):
        section = self.section
        return MonitorHandler(
            section.address, section.metrics_address,
            timeout=section.timeout, max_clients=section.max_clients,
            max_line=section.max_line, workers=section.workers,
            cpu_budget=section.cpu_budget)

    def getLevel(self):
        """Log handlers report their level; this one handles nothing."""
        return logging.NOTSET


class MonitorHandler(logging.NullHandler):
    """A log handler that ignores records and owns a monitor server.

    ``listener`` is the monitor server and ``metrics_server`` the HTTP
    endpoint, if configured; either is None when its address was in use
    (a warning is logged and the process carries on, as with
    ``zc.monitor.start``).
    """

    def __init__(self, address, metrics_address=None, **options):
        super().__init__()
        self.listener = open_or_warn('monitor', Listener, address,
                                     **options)
        if self.listener is not None:
            logger.info('Monitor listening at %s', self.listener.address)
        self.metrics_server = None
        if metrics_address is not None:
            self.metrics_server = open_or_warn(
                'metrics endpoint', MetricsServer, metrics_address)
        if self.metrics_server is not None:
            logger.info('Metrics served at http://%s:%s/metrics',
                        *self.metrics_server.address)

    def close(self):
        for server in (self.listener, self.metrics_server):
            if server is not None:
                server.close()
        self.listener = self.metrics_server = None
        super().close()
