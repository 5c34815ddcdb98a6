"""The browser in-process: how it treats applications, pages and forms at
the edges the README doesn't walk through."""
import unittest
import urllib.error

import webob
import webob.dec
import webob.exc

from zc.testbrowser.browser import (
    AmbiguityError, Browser, BrowserStateError, HostNotAllowed,
    LinkNotFoundError)
from zc.testbrowser.interfaces import ExpiredError


class Recorder:
    """A WSGI app serving fixed HTML and recording each environ."""

    def __init__(self, html='<html><body></body></html>',
                 content_type='text/html; charset=utf-8', status='200 OK',
                 headers=()):
        self.html = html
        self.content_type = content_type
        self.status = status
        self.headers = list(headers)
        self.environs = []
        self.bodies = []

    def __call__(self, environ, start_response):
        self.environs.append(environ)
        length = int(environ.get('CONTENT_LENGTH') or 0)
        self.bodies.append(environ['wsgi.input'].read(length))
        body = self.html.encode('utf-8') if isinstance(self.html, str) \
            else self.html
        start_response(self.status, [('Content-Type', self.content_type)]
                       + self.headers)
        return [body]


def browser_on(html, **kw):
    app = Recorder(html, **kw)
    browser = Browser(wsgi_app=app)
    browser.open('http://localhost/page')
    return browser, app


class ApplicationTests(unittest.TestCase):

    def test_handle_errors_false_propagates_the_exception(self):
        def failing(environ, start_response):
            self.assertIs(environ['wsgi.handleErrors'], False)
            self.assertIs(environ['paste.throw_errors'], True)
            self.assertIs(environ['x-wsgiorg.throw_errors'], True)
            self.assertEqual(environ['HTTP_X_ZOPE_HANDLE_ERRORS'], 'False')
            raise KeyError('from the application')
        browser = Browser(wsgi_app=failing)
        browser.handleErrors = False
        with self.assertRaises(KeyError) as caught:
            browser.open('http://localhost/')
        self.assertEqual(caught.exception.args, ('from the application',))

    def test_handle_errors_true_leaves_the_environ_alone(self):
        browser, app = browser_on('<html></html>')
        environ = app.environs[0]
        self.assertNotIn('wsgi.handleErrors', environ)
        self.assertNotIn('paste.throw_errors', environ)
        self.assertEqual(environ['HTTP_X_ZOPE_HANDLE_ERRORS'], 'True')

    def test_get_without_body_has_no_content_length(self):
        browser, app = browser_on('<form method="get"><input name="q">'
                                  '<input type="submit" value="Go"></form>')
        browser.getControl('Go').click()
        browser.post('http://localhost/empty', '')
        get, submitted, posted = app.environs
        self.assertNotIn('CONTENT_LENGTH', get)
        self.assertNotIn('CONTENT_LENGTH', submitted)
        self.assertEqual(posted['CONTENT_LENGTH'], '0')

    def test_response_headers_keep_the_server_order(self):
        sent = [('Z-First', '1'), ('Set-Cookie', 'a=1'), ('A-Second', '2'),
                ('Set-Cookie', 'b=2'), ('M-Third', '3')]
        browser, _ = browser_on('<p>', headers=sent)
        self.assertEqual(browser.headers.items()[2:], sent)

    def test_environ(self):
        app = Recorder()
        browser = Browser(wsgi_app=app)
        browser.open('http://example.com:8080/a%20b/c?x=1&y=%C3%A9')
        environ = app.environs[0]
        self.assertEqual(environ['PATH_INFO'], '/a b/c')
        self.assertEqual(environ['QUERY_STRING'], 'x=1&y=%C3%A9')
        self.assertEqual(environ['SERVER_NAME'], 'example.com')
        self.assertEqual(environ['SERVER_PORT'], '8080')
        self.assertEqual(environ['HTTP_HOST'], 'example.com:8080')
        self.assertEqual(environ['REQUEST_METHOD'], 'GET')
        self.assertEqual(environ['wsgi.url_scheme'], 'http')
        self.assertEqual(environ['SCRIPT_NAME'], '')
        self.assertNotIn('HTTP_REFERER', environ)

    def test_allowed_hosts(self):
        app = Recorder()
        browser = Browser(wsgi_app=app)
        for url in ('http://localhost/', 'http://127.0.0.1:9/',
                    'http://sub.example.net/', 'https://a.b.example.org/'):
            browser.open(url)
        for url in ('http://example.com.evil.org/', 'http://notexample.com/',
                    'http://10.0.0.1/'):
            with self.assertRaises(HostNotAllowed):
                browser.open(url)
        self.assertEqual(len(app.environs), 4)

    def test_webob_application(self):
        @webob.dec.wsgify
        def app(request):
            if request.path == '/login':
                response = webob.exc.HTTPFound(location='/home')
                response.set_cookie('who', 'webob')
                return response
            if request.path == '/json':
                return webob.Response(json_body={'got': request.json})
            return webob.Response(
                f'<html><title>{request.cookies.get("who")}</title></html>')
        browser = Browser(wsgi_app=app)
        browser.open('http://localhost/login')
        self.assertEqual(browser.url, 'http://localhost/home')
        self.assertEqual(browser.title, 'webob')
        browser.post('http://localhost/json', b'[1, 2]', 'application/json')
        self.assertEqual(browser.contents, '{"got":[1,2]}')

    def test_write_callable_and_close(self):
        closed = []

        class Body:
            def __iter__(self):
                yield b' world</p>'

            def close(self):
                closed.append(True)

        def app(environ, start_response):
            write = start_response('200 OK', [('Content-Type', 'text/html')])
            write(b'<p>hello')
            return Body()
        browser = Browser('http://localhost/', wsgi_app=app)
        self.assertEqual(browser.contents, '<p>hello world</p>')
        self.assertEqual(closed, [True])

    def test_missing_start_response_is_reported(self):
        browser = Browser(wsgi_app=lambda environ, start_response: [])
        with self.assertRaisesRegex(AssertionError, 'start_response'):
            browser.open('http://localhost/')

    def test_post_body_is_left_intact(self):
        browser, app = browser_on('<html></html>')
        browser.post('http://localhost/x', b'<xml a="1"/>', 'text/xml')
        self.assertEqual(app.bodies[-1], b'<xml a="1"/>')
        self.assertEqual(app.environs[-1]['CONTENT_TYPE'], 'text/xml')
        self.assertEqual(app.environs[-1]['CONTENT_LENGTH'], '12')
        browser.open('http://localhost/x', {'a': 'é'})
        self.assertEqual(app.bodies[-1], b'a=%C3%A9')

    def test_reload_resends_post(self):
        browser, app = browser_on('<html></html>')
        browser.post('http://localhost/x', 'a=1')
        browser.reload()
        self.assertEqual([e['REQUEST_METHOD'] for e in app.environs],
                         ['GET', 'POST', 'POST'])
        self.assertEqual(app.bodies[-1], b'a=1')

    def test_error_page_readable_after_http_error(self):
        browser = Browser(wsgi_app=Recorder(
            '<title>Gone</title>', status='410 Gone'))
        with self.assertRaises(urllib.error.HTTPError) as caught:
            browser.open('http://localhost/')
        self.assertEqual(caught.exception.code, 410)
        self.assertEqual(browser.title, 'Gone')

    def test_last_request_seconds(self):
        browser, _ = browser_on('<html></html>')
        self.assertIsInstance(browser.lastRequestSeconds, float)
        self.assertGreaterEqual(browser.lastRequestSeconds, 0)

    def test_before_any_page(self):
        browser = Browser(wsgi_app=Recorder())
        self.assertIsNone(browser.url)
        self.assertIsNone(browser.contents)
        self.assertIsNone(browser.headers)
        self.assertFalse(browser.isHtml)
        with self.assertRaises(BrowserStateError):
            browser.getLink('x')
        with self.assertRaises(BrowserStateError):
            browser.getControl('x')
        with self.assertRaises(BrowserStateError):
            browser.goBack()


class HistoryTests(unittest.TestCase):

    def test_go_back_does_not_request_and_expires_links(self):
        browser, app = browser_on('<a href="/other">other</a>')
        link = browser.getLink('other')
        link.click()
        browser.goBack()
        self.assertEqual(browser.url, 'http://localhost/page')
        self.assertEqual(len(app.environs), 2)
        with self.assertRaises(ExpiredError):
            link.click()
        browser.getLink('other').click()
        self.assertEqual(len(app.environs), 3)

    def test_go_back_too_far(self):
        browser, _ = browser_on('<p>x</p>')
        browser.open('http://localhost/2')
        with self.assertRaisesRegex(BrowserStateError, "can't go back 2"):
            browser.goBack(2)
        self.assertEqual(browser.url, 'http://localhost/2')

    def test_expired_controls(self):
        browser, _ = browser_on(
            '<form><input name="a"><select name="s"><option>x</option>'
            '</select><input type="submit"></form>')
        text = browser.getControl(name='a')
        item = browser.getControl('x')
        button = browser.getControl('Submit')
        browser.reload()
        for action in (lambda: setattr(text, 'value', 'b'),
                       lambda: setattr(item, 'selected', True),
                       button.click):
            with self.assertRaises(ExpiredError):
                action()


class ReloadTests(unittest.TestCase):

    def test_reload_replaces_the_page_in_the_history(self):
        browser, app = browser_on('<p>')
        browser.open('http://localhost/second')
        browser.reload()
        browser.goBack()
        self.assertEqual(browser.url, 'http://localhost/page')

    def test_failed_reload_keeps_the_history(self):
        browser, app = browser_on('<p>')
        browser.open('http://localhost/second')
        app.status = '500 Internal Server Error'
        with self.assertRaises(urllib.error.HTTPError):
            browser.reload()
        self.assertEqual(browser.headers['status'],
                         '500 Internal Server Error')
        browser.goBack()
        self.assertEqual(browser.url, 'http://localhost/page')


class LinkTests(unittest.TestCase):

    def test_text_normalisation_and_nbsp(self):
        browser, _ = browser_on(
            '<a href="/a">Caf&eacute;&nbsp;au\n  lait</a>'
            '<a href="/b" id="b"><span>nested</span> text</a>')
        self.assertEqual(browser.getLink('Café au lait').url,
                         'http://localhost/a')
        self.assertEqual(browser.getLink('nested text').attrs,
                         {'href': '/b', 'id': 'b'})
        self.assertEqual(browser.getLink(url='/b', text='nested').text,
                         'nested text')

    def test_combined_criteria_and_listing(self):
        browser, _ = browser_on('<a href="/a">one</a><a href="/b">two</a>')
        with self.assertRaises(LinkNotFoundError) as caught:
            browser.getLink('one', url='/b')
        self.assertEqual(str(caught.exception), (
            "no link with text 'one', url '/b'\n"
            "links on the page:\n"
            "  <Link text='one' url='http://localhost/a'>\n"
            "  <Link text='two' url='http://localhost/b'>"))

    def test_links_to_other_schemes_cannot_be_followed(self):
        browser, app = browser_on(
            '<a href="mailto:ada@example.com">mail</a>'
            '<a href="javascript:void(0)">script</a>')
        for text in ('mail', 'script'):
            with self.assertRaisesRegex(ValueError, 'only http and https'):
                browser.follow(text)
        self.assertEqual(len(app.environs), 1)

    def test_link_without_href_is_not_a_link(self):
        browser, _ = browser_on('<a name="x">anchor</a>')
        with self.assertRaises(LinkNotFoundError):
            browser.getLink('anchor')

    def test_hand_holding_on_links(self):
        browser, _ = browser_on('<a href="/a">one</a>')
        with self.assertRaises(AttributeError):
            browser.getLink('one').txt = 'x'


class ParsingTests(unittest.TestCase):

    def test_textarea_drops_one_leading_newline(self):
        browser, _ = browser_on(
            '<form><textarea name="a">\n\nkeep</textarea></form>')
        self.assertEqual(browser.getControl(name='a').value, '\nkeep')

    def test_form_inside_table(self):
        browser, _ = browser_on(
            '<table><form id="f" action="/t"><tr><td><input name="a">'
            '</td></tr></form></table>')
        form = browser.getForm(id='f')
        self.assertEqual([c.name for c in form.controls], ['a'])

    def test_form_attribute_pointing_nowhere(self):
        browser, app = browser_on(
            '<form id="f" action="/t"><input type="submit"></form>'
            '<input name="lost" form="missing" value="1">')
        self.assertEqual(browser.getControl(name='lost').value, '1')
        browser.getControl('Submit').click()
        self.assertEqual(app.environs[-1]['QUERY_STRING'], '')

    def test_label_text_excludes_the_contained_control(self):
        browser, _ = browser_on(
            '<form><label>Pick <select name="s"><option>One</option>'
            '</select> wisely</label></form>')
        self.assertEqual(browser.getControl('Pick wisely').labels,
                         ['Pick wisely'])

    def test_label_is_whole_words(self):
        browser, _ = browser_on(
            '<form><label>Context <input name="a"></label>'
            '<label>Text box <input name="b"></label></form>')
        self.assertEqual(browser.getControl('Text').name, 'b')
        self.assertEqual(browser.getControl('Text box').name, 'b')
        with self.assertRaises(LookupError):
            browser.getControl('text')  # case-sensitive

    def test_name_search_lists_every_control_hidden_too(self):
        browser, _ = browser_on(
            '<form><label>Visible <input name="v"></label>'
            '<input type="hidden" name="h" value="x"></form>')
        with self.assertRaises(LookupError) as caught:
            browser.getControl(name='nope')
        self.assertEqual(str(caught.exception), (
            "name 'nope'\navailable items:\n"
            "  <TextControl(v=)>\n"
            "  <HiddenControl(h=x) (readonly)>"))
        with self.assertRaises(LookupError) as caught:
            browser.getControl('nope')
        self.assertEqual(str(caught.exception), (
            "label 'nope'\navailable items:\n"
            "  <TextControl(v=)> label='Visible'"))

    def test_select_defaults(self):
        browser, _ = browser_on(
            '<form><select name="none"><option disabled>a</option>'
            '<option>b</option></select>'
            '<select name="two"><option selected>a</option>'
            '<option selected>b</option></select>'
            '<select name="multi" multiple><option>a</option></select>'
            '<select name="group"><optgroup disabled><option>a</option>'
            '</optgroup><option value="">empty</option></select></form>')
        self.assertEqual(browser.getControl(name='none').value, ['b'])
        self.assertEqual(browser.getControl(name='two').value, ['b'])
        self.assertEqual(browser.getControl(name='multi').value, [])
        self.assertEqual(browser.getControl(name='group').value, [''])
        self.assertTrue(browser.getControl(name='group')
                        .getControl('a').disabled)

    def test_index_counts_controls_in_document_order(self):
        browser, _ = browser_on("""
            <label>Name <input name="loose"></label>
            <form>
              <label>Colour <input type="radio" name="c" value="1"></label>
              <label>Colour name <input name="t"></label>
              <label>Colour <input type="radio" name="c" value="2"></label>
              <label>Name <input name="inside"></label>
            </form>""")
        self.assertEqual(
            [browser.getControl('Name', index=i).name for i in (0, 1)],
            ['loose', 'inside'])
        found = [browser.getControl('Colour', index=i) for i in (0, 1, 2)]
        self.assertEqual(
            [getattr(c, 'optionValue', c.name) for c in found],
            ['1', 't', '2'])
        with self.assertRaises(AmbiguityError) as caught:
            browser.getControl('Colour')
        self.assertEqual(str(caught.exception).splitlines()[1:], [
            "  <Item name='1' id=None contents=None value='1' "
            "label='Colour'>",
            '  <TextControl(t=)>',
            "  <Item name='2' id=None contents=None value='2' "
            "label='Colour'>"])

    def test_disabled_checkbox_and_radio_groups(self):
        browser, _ = browser_on("""<form>
            <input type="checkbox" name="lone" disabled>
            <input type="checkbox" name="some" value="1" disabled>
            <input type="checkbox" name="some" value="2">
            <input type="radio" name="all" value="1" disabled>
            <input type="radio" name="all" value="2" disabled></form>""")
        lone = browser.getControl(name='lone')
        self.assertIs(lone.disabled, True)
        self.assertIs(browser.getControl(name='some').disabled, False)
        self.assertIs(browser.getControl(name='all').disabled, True)
        with self.assertRaises(AttributeError):
            lone.value = True

    def test_option_label_attribute(self):
        browser, _ = browser_on(
            '<form><select name="s"><option label="Short" value="1">A much'
            ' longer text</option></select></form>')
        select = browser.getControl(name='s')
        self.assertEqual(select.displayOptions, ['Short'])
        self.assertEqual(browser.getControl('longer text').optionValue, '1')
        select.displayValue = ['Short']
        self.assertEqual(select.value, ['1'])

    def test_unknown_charset_falls_back_to_utf8(self):
        browser, _ = browser_on(
            '<title>été</title>',
            content_type='text/html; charset=bogus-8')
        self.assertEqual(browser.contents, '<title>été</title>')
        self.assertEqual(browser.title, 'été')

    def test_page_without_title(self):
        browser, _ = browser_on('<p>no title</p>')
        self.assertIsNone(browser.title)

    def test_xhtml_is_html(self):
        browser, _ = browser_on(
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X'
            '</title></head></html>', content_type='application/xhtml+xml')
        self.assertTrue(browser.isHtml)
        self.assertEqual(browser.title, 'X')


class SubmissionTests(unittest.TestCase):

    def test_get_replaces_the_action_query(self):
        browser, app = browser_on(
            '<form action="/s?old=1#frag"><input name="q" value="a b">'
            '</form>')
        browser.getForm().submit()
        self.assertEqual(browser.url, 'http://localhost/s?q=a+b')

    def test_buttons(self):
        browser, app = browser_on(
            '<form method="post" action="/s">'
            '<input type="submit">'
            '<input type="submit" value="Unnamed">'
            '<button>Default type</button>'
            '<button type="reset" name="r">Reset</button>'
            '<input type="image" src="i.png" alt="Image">'
            '</form>')
        browser.getControl('Default type').click()
        self.assertEqual(app.bodies[-1], b'')
        browser.goBack()
        browser.getControl('Image').click(coord=(5, 6))
        self.assertEqual(app.bodies[-1], b'x=5&y=6')
        browser.goBack()
        with self.assertRaises(LookupError):
            browser.getForm().submit('Reset')

    def test_disabled_and_unchecked_are_not_sent(self):
        browser, app = browser_on(
            '<form method="post" action="/s">'
            '<input name="a" value="1" disabled>'
            '<input type="checkbox" name="b" value="2">'
            '<input type="radio" name="c" value="3">'
            '<select name="d" multiple><option selected disabled>x</option>'
            '</select><input name="" value="nameless">'
            '<input name="e" value="sent"></form>')
        browser.getForm().submit()
        self.assertEqual(app.bodies[-1], b'e=sent')

    def test_multipart_is_parsed_by_webob(self):
        browser, app = browser_on(
            '<form method="post" action="/s" enctype="multipart/form-data">'
            '<input name="name" value="Zoë &quot;Q&quot;">'
            '<input type="file" name="empty">'
            '<input type="file" name="f"></form>')
        browser.getControl(name='f').add_file(
            'text é', 'text/plain', 'my "file".txt')
        browser.getForm().submit()
        request = webob.Request.blank(
            '/s', method='POST', body=app.bodies[-1],
            content_type=app.environs[-1]['CONTENT_TYPE'])
        self.assertEqual(request.POST['name'], 'Zoë "Q"')
        upload = request.POST['f']
        self.assertEqual(upload.filename, 'my %22file%22.txt')
        self.assertEqual(upload.file.read(), 'text é'.encode())
        self.assertEqual(upload.type, 'text/plain')
        # An empty file input is sent as a part with an empty file name,
        # which WebOb hands over as an empty value.
        self.assertIn(request.POST['empty'], (b'', ''))
        self.assertIn(b'name="empty"; filename=""', app.bodies[-1])

    def test_button_overrides(self):
        browser, app = browser_on(
            '<form action="/plain" method="get"><input name="a" value="1">'
            '<button formaction="/other" formmethod="post"'
            ' formenctype="multipart/form-data">Send</button>'
            '<input type="submit" value="Plain" formmethod="dialog"></form>')
        form = browser.getForm()
        self.assertEqual((form.method, form.action, form.enctype),
                         ('GET', 'http://localhost/plain',
                          'application/x-www-form-urlencoded'))
        browser.getControl('Send').click()
        self.assertEqual(app.environs[-1]['PATH_INFO'], '/other')
        self.assertEqual(app.environs[-1]['REQUEST_METHOD'], 'POST')
        self.assertTrue(app.environs[-1]['CONTENT_TYPE'].startswith(
            'multipart/form-data; boundary='))
        self.assertIn(b'name="a"\r\n\r\n1\r\n', app.bodies[-1])
        browser.goBack()
        browser.getControl('Plain').click()  # an unknown method is GET
        self.assertEqual(browser.url, 'http://localhost/plain?a=1')

    def test_accept_charset(self):
        browser, app = browser_on(
            '<form method="post" action="/s" accept-charset="iso-8859-1">'
            '<input name="a" value="é"></form>')
        browser.getForm().submit()
        self.assertEqual(app.bodies[-1], b'a=%E9')

    def test_add_file_on_a_text_control(self):
        browser, _ = browser_on('<form><input name="a"></form>')
        with self.assertRaises(TypeError):
            browser.getControl(name='a').add_file(b'', 'text/plain', 'x')

    def test_submit_index_without_label(self):
        browser, app = browser_on(
            '<form method="post" action="/s"><input type="submit" name="x"'
            ' value="1"><input type="submit" name="x" value="2"></form>')
        browser.getForm().submit(index=1)
        self.assertEqual(app.bodies[-1], b'x=2')

    def test_getform_with_two_criteria(self):
        browser, _ = browser_on('<form id="a" name="b"></form>')
        with self.assertRaises(ValueError):
            browser.getForm(id='a', name='b')


class HeaderTests(unittest.TestCase):

    def test_add_header_replaces(self):
        browser, app = browser_on('<p>')
        browser.addHeader('X-Test', '1')
        browser.addHeader('x-test', '2')
        browser.reload()
        self.assertEqual(app.environs[-1]['HTTP_X_TEST'], '2')

    def test_explicit_cookie_header_before_cookies(self):
        browser, app = browser_on('<p>')
        browser.addHeader('Cookie', 'a=1')
        browser.reload()
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'a=1')

    def test_no_cookie_is_set_beside_an_explicit_cookie_header(self):
        browser, _ = browser_on('<p>')
        browser.addHeader('Cookie', 'a=1')
        with self.assertRaises(ValueError):
            browser.cookies['b'] = '2'
        with self.assertRaises(ValueError):
            browser.cookies.create('b', '2')
        self.assertEqual(len(browser.cookies.forURL('http://localhost/')),
                         0)


class CookieTests(unittest.TestCase):

    def test_server_expires_a_cookie(self):
        app = Recorder(headers=[('Set-Cookie', 'a=1; Path=/')])
        browser = Browser('http://localhost/', wsgi_app=app)
        self.assertEqual(dict(browser.cookies), {'a': '1'})
        app.headers = [('Set-Cookie',
                        'a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT')]
        browser.reload()
        self.assertEqual(dict(browser.cookies), {})
        app.headers = []
        browser.reload()
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])

    def test_secure_cookies_only_over_https(self):
        app = Recorder(headers=[('Set-Cookie', 's=1; Secure; Path=/')])
        browser = Browser('https://localhost/', wsgi_app=app)
        app.headers = []
        browser.open('http://localhost/')
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])
        browser.open('https://localhost/')
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 's=1')
        self.assertTrue(browser.cookies.getinfo('s')['secure'])
        with self.assertRaises(ValueError):
            browser.cookies.forURL('http://localhost/').create(
                'x', '1', secure=True)

    def test_cookie_path_scope(self):
        app = Recorder(headers=[('Set-Cookie', 'p=1; Path=/app')])
        browser = Browser('http://localhost/app/page', wsgi_app=app)
        app.headers = []
        browser.open('http://localhost/application')
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])
        browser.open('http://localhost/app/other')
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'p=1')

    def test_cookies_do_not_cross_hosts(self):
        app = Recorder(headers=[('Set-Cookie', 'h=1')])
        browser = Browser('http://localhost/', wsgi_app=app)
        app.headers = []
        browser.open('http://example.com/')
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])
        self.assertEqual(len(browser.cookies), 0)

    def test_strict_domain_policy_refuses_server_domain_cookies(self):
        app = Recorder(headers=[('Set-Cookie', 'wide=1; Domain=example.com'),
                                ('Set-Cookie', 'narrow=1')])
        browser = Browser(wsgi_app=app)
        browser.open('http://www.example.com/')
        self.assertEqual(sorted(browser.cookies), ['narrow', 'wide'])
        strict = Browser(wsgi_app=app)
        strict.cookies.strict_domain_policy = True
        strict.open('http://www.example.com/')
        self.assertEqual(sorted(strict.cookies), ['narrow'])
        self.assertTrue(strict.cookies.strict_domain_policy)

    def test_create_for_the_host_itself(self):
        app = Recorder()
        browser = Browser('http://localhost/', wsgi_app=app)
        browser.cookies.create('a', '1', domain='localhost')
        browser.cookies.forURL('http://www.example.com/').create(
            'b', '2', domain='www.example.com')
        browser.reload()
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'a=1')
        browser.open('http://www.example.com/')
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'b=2')
        browser.open('http://other.example.com/')
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])

    def test_port_and_secure_details(self):
        browser = Browser('https://localhost:8443/', wsgi_app=Recorder())
        browser.cookies.create('p', '1', port=8443, secure=True,
                               commenturl='http://localhost/why')
        info = browser.cookies.getinfo('p')
        self.assertEqual((info['port'], info['secure'], info['commenturl']),
                         ('8443', True, 'http://localhost/why'))
        self.assertEqual(browser.cookies.header, 'p=1')
        self.assertEqual(
            browser.cookies.forURL('https://localhost:9443/').header, '')

    def test_missing_cookie(self):
        browser, _ = browser_on('<p>')
        with self.assertRaises(KeyError):
            browser.cookies.getinfo('nope')
        with self.assertRaises(KeyError):
            del browser.cookies['nope']
        with self.assertRaises(KeyError):
            browser.cookies.change('nope', 'x')
        self.assertEqual(browser.cookies.pop('nope', 'default'), 'default')
        self.assertEqual(browser.cookies.header, '')


class CookieScopeTests(unittest.TestCase):
    """RFC 6265: a cookie is known by name, domain and path, and only sent
    where its domain, path and secure flag allow."""

    def test_inner_path_is_neither_sent_to_nor_listed_for_the_root(self):
        app = Recorder(headers=[('Set-Cookie', 'p=1; Path=/inner')])
        browser = Browser('http://localhost/inner/page', wsgi_app=app)
        app.headers = []
        self.assertEqual(list(browser.cookies), ['p'])
        browser.open('http://localhost/')
        self.assertNotIn('HTTP_COOKIE', app.environs[-1])
        self.assertEqual(list(browser.cookies), [])
        self.assertNotIn('p', browser.cookies)

    def test_host_only_cookie_is_not_sent_to_subdomains(self):
        app = Recorder(headers=[('Set-Cookie', 'host=1'),
                                ('Set-Cookie', 'wide=1; Domain=example.com')])
        browser = Browser('http://www.example.com/', wsgi_app=app)
        app.headers = []
        browser.open('http://shop.www.example.com/')
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'wide=1')
        browser.cookies.create('made', '1')
        browser.open('http://a.shop.www.example.com/')
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'wide=1')

    def test_same_name_at_two_paths_is_two_cookies(self):
        app = Recorder()
        browser = Browser('http://localhost/inner/page', wsgi_app=app)
        browser.cookies.create('p', 'inner', path='/inner')
        browser.cookies.create('p', 'root', path='/')
        with self.assertRaises(ValueError):
            browser.cookies.create('p', 'again', path='/inner')
        browser.reload()
        self.assertEqual(app.environs[-1]['HTTP_COOKIE'], 'p=inner; p=root')
        browser.cookies.change('p', 'changed')
        self.assertEqual(browser.cookies.header, 'p=changed; p=root')
        browser.cookies['p'] = 'set'
        self.assertEqual(browser.cookies.header, 'p=set; p=root')
        del browser.cookies['p']
        self.assertEqual(browser.cookies.header, 'p=root')
        self.assertEqual(browser.cookies.getinfo('p')['path'], '/')

    def test_same_name_at_two_domains_is_two_cookies(self):
        browser = Browser('http://www.example.com/', wsgi_app=Recorder())
        browser.cookies.create('d', 'host')
        browser.cookies.create('d', 'domain', domain='example.com')
        self.assertEqual(
            sorted((i['domain'], i['value'])
                   for i in browser.cookies.iterinfo('d')),
            [('example.com', 'domain'), ('www.example.com', 'host')])
        self.assertEqual(
            browser.cookies.forURL('http://example.com/').header, 'd=domain')

    def test_default_path_is_the_directory_of_the_url(self):
        browser = Browser('http://localhost/a/b/page', wsgi_app=Recorder())
        browser.cookies['c'] = '1'
        self.assertEqual(browser.cookies.getinfo('c')['path'], '/a/b')
        self.assertEqual(browser.cookies.forURL('http://localhost/a/').header,
                         '')

    def test_path_must_match_on_a_segment_boundary(self):
        browser = Browser('http://localhost/application',
                          wsgi_app=Recorder())
        with self.assertRaises(ValueError):
            browser.cookies.create('c', '1', path='/app')

    def test_domain_is_reported_as_given(self):
        browser = Browser('http://www.example.com/', wsgi_app=Recorder())
        browser.cookies.create('bare', '1', domain='example.com')
        browser.cookies.create('dotted', '1', domain='.example.com')
        self.assertEqual(browser.cookies.getinfo('bare')['domain'],
                         'example.com')
        self.assertEqual(browser.cookies.getinfo('dotted')['domain'],
                         '.example.com')
        browser.cookies.change('bare', '2')
        self.assertEqual(browser.cookies.getinfo('bare')['domain'],
                         'example.com')

    def test_policy_refuses_a_domain_the_url_may_not_set(self):
        browser = Browser('http://www.example.com/', wsgi_app=Recorder())
        for domain in ('com', '.com'):
            with self.assertRaises(ValueError) as caught:
                browser.cookies.create('tld', '1', domain=domain)
            self.assertEqual(str(caught.exception),
                             'policy does not allow this cookie')
        with self.assertRaises(ValueError) as caught:
            browser.cookies.create('other', '1', domain='example.org')
        self.assertIn('does not match', str(caught.exception))
        self.assertEqual(len(browser.cookies), 0)

    def test_failed_change_keeps_the_cookie(self):
        browser = Browser('http://localhost/', wsgi_app=Recorder())
        browser.cookies['c'] = '1'
        with self.assertRaises(ValueError):
            browser.cookies.change('c', path='/elsewhere')
        self.assertEqual(browser.cookies['c'], '1')


class CookieMappingTests(unittest.TestCase):

    def test_keys_values_items_are_lists(self):
        browser = Browser('http://localhost/', wsgi_app=Recorder())
        browser.cookies['a'] = '1'
        browser.cookies['b'] = '2'
        keys = browser.cookies.keys()
        values = browser.cookies.values()
        items = browser.cookies.items()
        browser.cookies.clearAll()
        self.assertEqual(keys, ['a', 'b'])
        self.assertEqual(values, ['1', '2'])
        self.assertEqual(items, [('a', '1'), ('b', '2')])

    def test_str_is_the_cookie_header_and_repr_shows_it(self):
        browser = Browser(wsgi_app=Recorder())
        self.assertRegex(
            repr(browser.cookies),
            r'^<zc\.testbrowser\.cookies\.Cookies object at 0x[0-9a-f]+ '
            r'\(no request yet\)>$')
        browser.open('http://localhost/')
        browser.cookies['a'] = '1'
        browser.cookies['b'] = '2'
        self.assertEqual(str(browser.cookies), 'a=1; b=2')
        self.assertRegex(
            repr(browser.cookies),
            r'^<zc\.testbrowser\.cookies\.Cookies object at 0x[0-9a-f]+ '
            r'for http://localhost/ \(a=1; b=2\)>$')
