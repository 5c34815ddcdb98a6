"""The restart policy of the daemon manager, apart from processes and time
so that it can be reasoned about (and tested) on its own."""


class Backoff:
    """When to restart a program that died on its own.

    A program that lived at least ``limit`` seconds is restarted at once.
    One that died sooner is restarted after a delay that grows by a second
    with each such death: 1, 2, 3... seconds.  When the delay would reach
    ``limit`` the manager gives up, unless ``forever``: then the delay stays
    at ``limit``.  So without ``forever`` the program is started ``limit``
    times in all before the manager gives up.
    """

    def __init__(self, limit, forever):
        self.limit = limit
        self.forever = forever
        self.backoff = 0

    def reset(self):
        """Forget earlier deaths (after a start, stop or restart command)."""
        self.backoff = 0

    def delay_after_death(self, lived):
        """Seconds to wait before restarting a program that died after
        ``lived`` seconds, or None to give up."""
        if lived >= self.limit:
            self.backoff = 0
            return 0
        self.backoff += 1
        if self.backoff >= self.limit:
            if not self.forever:
                return None
            self.backoff = self.limit
        return self.backoff
