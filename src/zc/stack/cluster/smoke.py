"""``zc-stack smoke``: the cluster checked end to end, as a user sees it.

1. Through the front door, with zc.testbrowser over HTTP: add a guestbook
   entry with the form and see it listed.
2. The entry reaches every secondary (read with a read-only ZEO client)
   within ``REPLICATION_TIMEOUT`` seconds.
3. Every monitor answers (``help``, through zc.monitor's client).
4. Every service of this machine runs.

Each check prints a line, ``ok`` or ``FAILED`` with the reason.
"""
import concurrent.futures
import time
import uuid

from zc.monitor.address import parse_address
from zc.monitor.client import query
from zc.testbrowser.browser import Browser

from zc.stack.cluster import demo

REPLICATION_TIMEOUT = 5.0
#: A monitor's first ``help`` loads every plug-in: generous on a busy
#: machine.
MONITOR_TIMEOUT = 20.0
POLL = 0.05


def add_entry(front, message):
    """Add an entry through the front door; None, or what went wrong."""
    browser = Browser()
    browser.open(front)
    browser.getControl('Name').value = 'zc-stack smoke'
    browser.getControl('Message').value = message
    browser.getControl('Add').click()
    if message not in browser.contents:
        return f'the entry is not listed on {browser.url}'
    return None


def entry_on_secondary(address, message, timeout=REPLICATION_TIMEOUT,
                       clock=time.monotonic):
    """None once the secondary at ``host:port`` has the entry, else why
    not."""
    import ZEO
    host, port = address.rsplit(':', 1)
    db = ZEO.DB((host, int(port)), read_only=True, wait_timeout=timeout)
    try:
        deadline = clock() + timeout
        while True:
            if any(text == message for _, text in demo.entries(db)[0]):
                return None
            if clock() > deadline:
                return f'the entry did not arrive within {timeout:g}s'
            time.sleep(POLL)
    finally:
        db.close()


def monitor_answers(address):
    """None when the monitor at ``address`` answers ``help``."""
    answer = query(parse_address(address), 'help', timeout=MONITOR_TIMEOUT)
    return None if answer.strip() else 'empty answer to help'


def _outcome(check):
    """None when ``check()`` passed, else what went wrong."""
    try:
        return check()
    except Exception as error:  # any failure is a finding, not a crash
        return f'{type(error).__name__}: {error}'


def run(cluster, out):
    """Run the checks on ``cluster``, report to ``out``; True if all
    passed."""
    document = cluster.status()
    services = document['services']
    message = f'smoke {uuid.uuid4().hex[:12]}'
    checks = []
    if document['front']:
        checks.append((f"front door {document['front']}: add and list an"
                       ' entry', lambda: add_entry(document['front'],
                                                   message)))
    else:
        checks.append(('front door', lambda: 'no front door is registered'))
    for service in services:
        if service['role'] == 'secondary' and service['state'] in (
                'running', 'remote'):
            checks.append((f"{service['name']}: entry replicated",
                           lambda a=service['address']:
                           entry_on_secondary(a, message)))
    for service in services:
        if service['monitor']:
            checks.append((f"{service['name']}: monitor"
                           f" {service['monitor']} answers",
                           lambda a=service['monitor']: monitor_answers(a)))
    for service in services:
        if service['state'] not in ('running', 'remote'):
            checks.append((f"{service['name']} runs",
                           lambda s=service['state']: f'it is {s}'))
    # The front door first (the entry must exist before it can reach the
    # secondaries), then everything else at once.
    results = [(label, _outcome(check)) for label, check in checks[:1]]
    rest = checks[1:]
    with concurrent.futures.ThreadPoolExecutor(max(len(rest), 1)) as pool:
        results += zip([label for label, _ in rest],
                       pool.map(_outcome, [check for _, check in rest]))
    for label, problem in results:
        print(f'ok      {label}' if problem is None
              else f'FAILED  {label}: {problem}', file=out, flush=True)
    passed = all(problem is None for _, problem in results)
    print('smoke test passed' if passed else 'smoke test FAILED', file=out)
    return passed
