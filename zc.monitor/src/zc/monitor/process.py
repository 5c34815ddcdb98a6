"""The process's own memory figures, as Linux reports them."""
from zc.monitor.metrics import Metric

#: Read at each call, so a forked child reports itself, not its parent.
STATUS = '/proc/self/status'


def status(want=('VmSize', 'VmRSS')):
    """The ``/proc/self/status`` lines named in ``want``, stripped.

    Empty where there is no ``/proc`` (not Linux).
    """
    try:
        with open(STATUS) as f:
            lines = f.readlines()
    except OSError:
        return []
    return [line.strip() for line in lines
            if line.split(':', 1)[0] in want]


def metrics():
    """Virtual and resident memory, under Prometheus' standard names."""
    names = {'VmSize': ('process_virtual_memory_bytes',
                        'Virtual memory size in bytes.'),
             'VmRSS': ('process_resident_memory_bytes',
                       'Resident memory size in bytes.')}
    for line in status(tuple(names)):
        key, value = line.split(':', 1)
        number, *unit = value.split()
        factor = 1024 if unit == ['kB'] else 1
        name, help = names[key]
        yield Metric(name, 'gauge', help, [({}, int(number) * factor)])
