"""The demo guestbook, on a plain in-memory ZODB, through zc.testbrowser."""
import unittest

import ZODB
from zc.testbrowser.browser import Browser

from zc.stack.cluster import demo


class GuestBookTests(unittest.TestCase):

    def setUp(self):
        self.db = ZODB.DB(None)
        self.addCleanup(self.db.close)
        self.services = [
            dict(role='primary', address='127.0.0.1:4001', pid=11,
                 monitor='127.0.0.1:5001', lag_seconds=None),
            dict(role='secondary', address='127.0.0.1:4002', pid=12,
                 monitor='127.0.0.1:5002', lag_seconds=0.25),
        ]
        self.app = demo.GuestBook(self.db, cluster=lambda: self.services)
        self.browser = Browser(wsgi_app=self.app)

    def test_add_and_list_entries(self):
        self.browser.open('http://localhost/')
        self.assertIn('No entries yet.', self.browser.contents)
        self.browser.getControl('Name').value = 'Ada'
        self.browser.getControl('Message').value = 'Hello <there>'
        self.browser.getControl('Add').click()
        self.assertTrue(self.browser.url.startswith(
            'http://localhost/?added='), self.browser.url)
        self.assertIn('<b>Ada</b>: Hello &lt;there&gt;',
                      self.browser.contents)
        self.browser.getControl('Message').value = 'Second'
        self.browser.getControl('Add').click()
        self.assertEqual(demo.entries(self.db)[0],
                         [('Ada', 'Hello <there>'), ('anonymous', 'Second')])
        # Newest first on the page.
        contents = self.browser.contents
        self.assertLess(contents.index('Second'), contents.index('Ada'))

    def test_entries_are_committed_to_the_database(self):
        key = demo.add_entry(self.db, 'Bob', 'persisted')
        other = ZODB.DB(self.db.storage)   # a second DB on the storage
        self.assertEqual(demo.entries(other, key),
                         ([('Bob', 'persisted')], True))
        self.assertEqual(demo.entries(other, 'other')[1], False)

    def test_empty_message_is_refused(self):
        self.browser.raiseHttpErrors = False
        self.browser.open('http://localhost/')
        self.browser.getControl('Add').click()
        self.assertEqual(self.browser.headers['Status'], '400 Bad Request')
        self.assertEqual(demo.entries(self.db), ([], False))

    def test_page_after_adding_waits_for_the_entry_a_bounded_time(self):
        """An entry added through another app server may not be seen here
        yet: the page shown after adding waits for it, ``added_timeout``
        at most."""
        now = [0.0]

        def clock():
            now[0] += 0.25   # each look at the clock: a quarter second on
            return now[0]
        app = demo.GuestBook(self.db, clock=clock, added_timeout=1.0)
        browser = Browser(wsgi_app=app)
        browser.open('http://localhost/?added=never-added')
        self.assertIn('No entries yet.', browser.contents)
        # Deadline 0.25 + 1.0; looked again at 0.5, 0.75 and 1.0: 1.25 ends.
        self.assertEqual(now[0], 1.25)
        key = demo.add_entry(self.db, 'Cy', 'here')
        now[0] = 0.0
        browser.open(f'http://localhost/?added={key}')
        self.assertIn('<b>Cy</b>: here', browser.contents)
        self.assertEqual(now[0], 0.25)  # seen at once: no waiting

    def test_status_page_shows_every_service(self):
        self.browser.open('http://localhost/')
        self.browser.getLink('Cluster status').click()
        contents = self.browser.contents
        self.assertIn('<td>primary</td><td>127.0.0.1:4001</td><td>11</td>'
                      '<td>127.0.0.1:5001</td><td>-</td>', contents)
        self.assertIn('<td>secondary</td><td>127.0.0.1:4002</td><td>12</td>'
                      '<td>127.0.0.1:5002</td><td>0.250 s</td>', contents)

    def test_status_without_a_cluster(self):
        browser = Browser(wsgi_app=demo.GuestBook(self.db))
        browser.open('http://localhost/status')
        self.assertIn('does not run in a cluster', browser.contents)

    def test_unknown_page_and_method(self):
        self.browser.raiseHttpErrors = False
        self.browser.open('http://localhost/nothing')
        self.assertEqual(self.browser.headers['Status'], '404 Not Found')
        self.browser.open('http://localhost/add')
        self.assertEqual(self.browser.headers['Status'],
                         '405 Method Not Allowed')
