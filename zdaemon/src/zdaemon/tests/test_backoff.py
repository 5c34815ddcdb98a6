"""The restart policy, checked against the original's measured schedule."""
import unittest

from zdaemon._backoff import Backoff


def schedule(backoff, deaths, lived=0):
    """The delays after ``deaths`` quick deaths (None: gave up)."""
    delays = []
    for _ in range(deaths):
        delay = backoff.delay_after_death(lived)
        delays.append(delay)
        if delay is None:
            break
    return delays


def spawn_times(limit):
    """When a program that always dies at once is started (seconds)."""
    times, now = [0], 0
    for delay in schedule(Backoff(limit, False), 100):
        if delay is None:
            return times
        now += delay
        times.append(now)
    raise AssertionError('never gave up')


class BackoffTests(unittest.TestCase):

    def test_quick_deaths_give_up_after_limit_starts(self):
        # Measured with the original (program ``false``, default limit):
        # spawns at 0, 1, 3, 6, 10, 15, 21, 28, 36 and 45 s, then quits.
        self.assertEqual(spawn_times(10),
                         [0, 1, 3, 6, 10, 15, 21, 28, 36, 45])
        self.assertEqual(spawn_times(4), [0, 1, 3, 6])
        self.assertEqual(spawn_times(1), [0])

    def test_forever_caps_the_delay_at_the_limit(self):
        self.assertEqual(schedule(Backoff(3, True), 6), [1, 2, 3, 3, 3, 3])

    def test_long_lived_program_is_restarted_at_once(self):
        backoff = Backoff(10, False)
        self.assertEqual(schedule(backoff, 3), [1, 2, 3])
        self.assertEqual(backoff.delay_after_death(10), 0)
        self.assertEqual(backoff.backoff, 0)
        self.assertEqual(schedule(backoff, 1), [1])

    def test_reset(self):
        backoff = Backoff(10, False)
        schedule(backoff, 5)
        backoff.reset()
        self.assertEqual(schedule(backoff, 1), [1])

    def test_zero_limit_never_backs_off(self):
        self.assertEqual(schedule(Backoff(0, False), 5), [0] * 5)
