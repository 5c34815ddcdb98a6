"""Tests of the option classes, built on :class:`TestZDOptions`.

:class:`TestZDOptions` is a reusable base: a subclass names an options
class and a command line it accepts, and inherits tests of what every
:class:`~zdaemon.zdoptions.ZDOptions` subclass must do (help, version,
usage errors, precedence of the command line...).  ZEO's
``ZEO.tests.testZEOOptions`` subclasses it for ``runzeo``'s options, and
zdaemon's own option classes are tested through it below.
"""
import importlib.metadata
import io
import logging
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import unittest
import unittest.mock

import zdaemon
from zdaemon import zdctl
from zdaemon import zdoptions
from zdaemon import zdrun
from zdaemon.zdoptions import RunnerOptions
from zdaemon.zdoptions import ZDOptions

SAMPLE_CONF = os.path.join(os.path.dirname(zdaemon.__file__), 'sample.conf')


class TestZDOptions(unittest.TestCase):
    """What every ZDOptions subclass does, for ``OptionsClass``.

    Subclasses set ``OptionsClass``, ``input_args`` (a command line it
    accepts), and what getopt makes of it: ``output_opts`` (the option
    pairs) and ``output_args`` (the positional arguments).  The tests use
    no ``setUp`` (subclasses may have their own) and option names no
    subclass is likely to use.
    """

    OptionsClass = ZDOptions
    input_args = ['-C', SAMPLE_CONF]
    output_opts = [('-C', SAMPLE_CONF)]
    output_args = []

    progname = 'zdtest-program'

    # Helpers

    def save_streams(self):
        """Capture sys.stdout and sys.stderr (until restore_streams)."""
        self.saved_streams = sys.stdout, sys.stderr
        sys.stdout = io.StringIO()
        sys.stderr = io.StringIO()

    def restore_streams(self):
        """Stop capturing; return what was written: ``(stdout, stderr)``."""
        out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdout, sys.stderr = self.saved_streams
        return out, err

    def check_exit_code(self, options, args, exit_code=2, **kw):
        """realize(args) must exit with ``exit_code``; return what it
        wrote: ``(stdout, stderr)``."""
        self.save_streams()
        try:
            with self.assertRaises(SystemExit) as caught:
                options.realize(args, progname=self.progname, **kw)
        finally:
            out, err = self.restore_streams()
        self.assertEqual(caught.exception.code, exit_code, out + err)
        return out, err

    def help_test_helper(self, args, doc, expected):
        """``args`` (a help request) print ``expected`` for ``doc``."""
        options = self.OptionsClass()
        out, err = self.check_exit_code(options, args, 0, doc=doc)
        self.assertEqual(out, expected)
        self.assertEqual(err, '')

    def usage_error(self, args, options=None):
        """The message of the usage error realize(args) must give."""
        options = options if options is not None else self.OptionsClass()
        out, err = self.check_exit_code(options, args)
        self.assertEqual(out, '')
        error, hint = err.splitlines()
        self.assertEqual(hint, f'For help, use {self.progname} -h')
        self.assertTrue(error.startswith('Error: '), error)
        return error[len('Error: '):]

    # Tests

    def test_help(self):
        for args in (['-h'], ['--help']):
            self.help_test_helper(args, 'Usage: %s [options]\n',
                                  f'Usage: {self.progname} [options]\n')

    def test_help_without_doc(self):
        # A subclass's help is its own docstring, not an inherited one.
        class Undocumented(self.OptionsClass):
            pass
        options = Undocumented()
        out, err = self.check_exit_code(options, ['-h'], 0)
        self.assertEqual(out, 'No help available.\n')

    def test_default_help(self):
        doc = type(self.OptionsClass()).__doc__
        options = self.OptionsClass()
        out, err = self.check_exit_code(options, ['--help'], 0)
        if doc:
            self.assertIn(self.progname, out)
            self.assertNotIn('%s', out)
        else:
            self.assertEqual(out, 'No help available.\n')

    def test_version(self):
        options = self.OptionsClass()
        out, err = self.check_exit_code(options, ['--version'], 0)
        self.assertEqual(out, importlib.metadata.version('zdaemon') + '\n')

    def test_unrecognized(self):
        self.assertEqual(self.usage_error(['--no-such-zdtest-option']),
                         'option --no-such-zdtest-option not recognized')

    def test_options(self):
        options = self.OptionsClass()
        options.realize(self.input_args, progname=self.progname)
        self.assertEqual(options.options, self.output_opts)
        self.assertEqual(options.args, self.output_args)
        self.assertEqual(options.progname, self.progname)

    def test_configure(self):
        # The sample configuration fits zdaemon's schema.
        options = self.OptionsClass()
        options.realize(['-C', SAMPLE_CONF, *self.output_args],
                        progname=self.progname)
        self.assertEqual(options.configfile, SAMPLE_CONF)
        self.assertEqual(options.configroot.runner.socket_name, 'zdsock')
        self.assertEqual(options.configroot.environment.mapping,
                         {'TZ': 'UTC'})

    def test_positional_arguments(self):
        options = self.OptionsClass()
        args = [*self.input_args, 'zdtest-positional']
        if options.positional_args_allowed:
            options.realize(args, progname=self.progname)
            self.assertEqual(options.args[-1], 'zdtest-positional')
        else:
            self.assertEqual(
                self.usage_error(args),
                'positional arguments are not supported: zdtest-positional')

    def test_conflicting_command_line_options(self):
        def options():
            options = self.OptionsClass()
            options.add('zdtest_value', None, None, 'zdtest-value=', int)
            return options
        same = options()
        same.realize(['--zdtest-value=1', '--zdtest-value', '01',
                      *self.input_args], progname=self.progname)
        self.assertEqual(same.zdtest_value, 1)
        self.assertEqual(
            self.usage_error(['--zdtest-value=1', '--zdtest-value=2',
                              *self.input_args], options()),
            "conflicting command line option '--zdtest-value'")

    def test_environment(self):
        def options():
            options = self.OptionsClass()
            options.add('zdtest_env', None, None, 'zdtest-env=', int,
                        env='ZDTEST_ENV')
            return options
        with unittest.mock.patch.dict(os.environ, ZDTEST_ENV='42'):
            from_environment = options()
            from_environment.realize(self.input_args, progname=self.progname)
            command_line = options()
            command_line.realize(['--zdtest-env=7', *self.input_args],
                                 progname=self.progname)
        self.assertEqual(from_environment.zdtest_env, 42)
        self.assertEqual(command_line.zdtest_env, 7)
        with unittest.mock.patch.dict(os.environ, ZDTEST_ENV='x'):
            self.assertEqual(
                self.usage_error(self.input_args, options()),
                "invalid environment value for ZDTEST_ENV 'x': invalid"
                " literal for int() with base 10: 'x'")

    def test_overrides_need_a_configuration_file(self):
        options = self.OptionsClass()
        if options.default_configfile() is not None:
            self.skipTest('this class always has a configuration file')
        args = [a for a in self.input_args if a not in ('-C', SAMPLE_CONF)]
        self.assertEqual(
            self.usage_error(['-X', 'zdtest=1', *args]),
            'configuration overrides (-X) cannot be used without a'
            ' configuration file')


class Workspace:
    """Temporary files for one test (removed afterwards)."""

    def __init__(self, test):
        self.path = tempfile.mkdtemp(prefix='zdaemon-test-')
        test.addCleanup(shutil.rmtree, self.path, True)

    def write(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path


class ZDOptionsTests(unittest.TestCase):
    """ZDOptions beyond what every subclass inherits."""

    def realize(self, options, args, env=None):
        with unittest.mock.patch.dict(os.environ, env or {}):
            options.realize(args, progname='zdtest')
        return options

    def usage_error(self, options, args):
        stderr = io.StringIO()
        with unittest.mock.patch('sys.stderr', stderr), \
                self.assertRaises(SystemExit) as caught:
            options.realize(args, progname='zdtest')
        self.assertEqual(caught.exception.code, 2)
        return stderr.getvalue().splitlines()[0]

    def test_add_rejects_inconsistent_declarations(self):
        options = ZDOptions()
        for kw, message in [
            (dict(short='q', handler=int, flag=1),
             'use at most one of flag= and handler='),
            (dict(name='x', flag=1), 'flag= requires a command line flag'),
            (dict(short='q:', flag=1),
             'flag= requires a flag without an argument'),
            (dict(long='quux=', flag=1),
             'flag= requires a flag without an argument'),
            (dict(short='q:', long='quux'),
             "inconsistent short/long options: 'q:' 'quux'"),
            (dict(short='-q'), 'short option should not start with "-"'),
            (dict(short='qq'), 'short option should be "x" or "x:"'),
            (dict(long='--quux'), 'long option should not start with "-"'),
            (dict(short='h'), "duplicate option key '-h'"),
            (dict(long='configure='), "duplicate option key '--configure'"),
        ]:
            with self.assertRaises(ValueError) as caught:
                options.add(**kw)
            self.assertTrue(str(caught.exception).startswith(message),
                            (kw, str(caught.exception)))
        # Nothing half-registered by the rejected declarations:
        self.assertNotIn('q', options.short_options)
        self.assertNotIn('--quux', options.options_map)

    def test_handlers_and_flags(self):
        options = ZDOptions()
        options.add('number', None, 'n:', 'number=', int)
        options.add('flagged', None, 'F', 'flagged', flag='yes')
        options.add('raw', None, None, 'raw=')
        calls = []
        options.add(None, None, None, 'call', calls.append)
        options.add('ignored', None, 'i:', None, lambda arg: None)
        self.realize(options, ['-n', '3', '-F', '--raw=x', '--call',
                               '-i', 'y'])
        self.assertEqual((options.number, options.flagged, options.raw),
                         (3, 'yes', 'x'))
        self.assertEqual(calls, [''])
        self.assertIsNone(options.ignored)    # handler returned None
        self.assertEqual(self.usage_error(ZDOptions(), ['-n', 'x'])[:16],
                         'Error: option -n')
        options = ZDOptions()
        options.add('number', None, 'n:', 'number=', int)
        self.assertEqual(
            self.usage_error(options, ['-n', 'x']),
            "Error: invalid value for -n 'x': invalid literal for int()"
            " with base 10: 'x'")

    def test_precedence(self):
        work = Workspace(self)
        schema = work.write('schema.xml', '''
            <schema>
              <sectiontype name="app">
                <key name="size" datatype="integer" default="5"/>
                <key name="name" required="no"/>
              </sectiontype>
              <section type="app" name="*" attribute="app" required="no"/>
            </schema>''')
        conf = work.write('app.conf', '''
            <app>
              size 10
            </app>''')

        def options():
            options = ZDOptions()
            options.schemadir = work.path
            options.add('size', 'app.size', 's:', 'size=', int, default=1,
                        env='ZDTEST_SIZE')
            options.add('name', 'app.name', None, 'name=', default='dflt',
                        required='no name')
            return options

        self.assertEqual(self.realize(options(), []).size, 1)
        self.assertEqual(self.realize(options(), ['-C', conf]).size, 10)
        self.assertEqual(self.realize(options(), ['-C', conf],
                                      {'ZDTEST_SIZE': '20'}).size, 20)
        self.assertEqual(self.realize(options(), ['-C', conf, '-s', '30'],
                                      {'ZDTEST_SIZE': '20'}).size, 30)
        self.assertEqual(self.realize(options(), ['-C', conf, '-X',
                                                  'app/size=40']).size, 40)
        realized = self.realize(options(), ['-C', conf])
        self.assertEqual(realized.schemafile, schema)  # made absolute
        self.assertEqual(realized.name, 'dflt')
        # The walk along the dotted name stops at a missing section.
        empty = work.write('empty.conf', '')
        self.assertEqual(self.realize(options(), ['-C', empty]).size, 1)
        required = options()
        del required.default_map['name']
        self.assertEqual(self.usage_error(required, []), 'Error: no name')

    def test_configuration_errors_are_usage_errors(self):
        work = Workspace(self)
        bad = work.write('bad.conf', '<runner>\n  no-such-key 1\n</runner>\n')
        message = self.usage_error(ZDOptions(), ['-C', bad])
        # ZConfig does not say where the unknown key is; we do.
        self.assertEqual(message, "Error: 'no-such-key' is not a known key"
                                  f" name (line 2, in file://{bad})")
        missing = os.path.join(work.path, 'missing.conf')
        self.assertIn('missing.conf',
                      self.usage_error(ZDOptions(), ['-C', missing]))
        options = ZDOptions()
        options.schemafile = os.path.join(work.path, 'missing.xml')
        self.assertTrue(self.usage_error(options, ['-C', SAMPLE_CONF])
                        .startswith('Error: cannot load schema'))

    def test_schema_is_loaded_once_and_reloaded_when_changed(self):
        work = Workspace(self)
        text = '''
            <schema>
              <key name="value" default="%s"/>
            </schema>'''
        work.write('schema.xml', text % 'one')
        conf = work.write('empty.conf', '')

        def realized():
            options = ZDOptions()
            options.schemadir = work.path
            options.add('value', 'value')
            return self.realize(options, ['-C', conf])

        first, second = realized(), realized()
        self.assertIs(first.schema, second.schema)
        self.assertEqual(second.value, 'one')
        path = work.write('schema.xml', text % 'two, longer')
        os.utime(path, ns=(0, 0))
        self.assertEqual(realized().value, 'two, longer')

    def test_configuration_import_does_not_leak_into_the_schema(self):
        work = Workspace(self)
        with_import = work.write('import.conf', '''
            %import ZODB
            <runner>
              program sleep 1
            </runner>
            ''')
        first = self.realize(ZDOptions(), ['-C', with_import])
        second = self.realize(ZDOptions(), ['-C', SAMPLE_CONF])
        self.assertIs(first.schema, second.schema)
        self.assertTrue(first.configroot)
        self.assertFalse(second.schema.hasComponent(
            'package:ZODB:component.xml'))

    def test_lenient_parsing_skips_unknown_options(self):
        options = ZDOptions()
        options.add('number', None, 'n:', 'number=', int)
        # (--number lacks its argument)
        options.realize(['--unknown', '-n', '3', '-q', '--number'],
                        progname='zdtest', raise_getopt_errs=False)
        self.assertEqual(options.number, 3)
        self.assertEqual(options.options, [('-n', '3')])
        options.positional_args_allowed = 1
        options.realize(['-q', '-n4', 'x', '-n', '5'], progname='zdtest',
                        raise_getopt_errs=False)
        self.assertEqual(options.options, [('-n', '4')])
        self.assertEqual(options.args, ['x', '-n', '5'])

    def test_remove(self):
        options = ZDOptions()
        options.add('number', 'a.number', 'n:', 'number=', int, default=3)
        options.remove('number', short='n', long='number=')
        self.assertNotIn('-n', options.options_map)
        self.assertNotIn('--number', options.options_map)
        self.assertNotIn('n', options.short_options)
        self.assertNotIn(('number', 'a.number'), options.names_list)
        self.assertEqual(self.usage_error(options, ['-n', '1']),
                         'Error: option -n not recognized')

    def test_eventlog_is_started(self):
        work = Workspace(self)
        log = os.path.join(work.path, 'events.log')
        conf = work.write('log.conf', f'''
            <runner>
              program sleep 1
            </runner>
            <eventlog>
              <logfile>
                path {log}
                format %(message)s
              </logfile>
            </eventlog>
            ''')

        class Options(ZDOptions):
            logsectionname = 'eventlog'

        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            options = self.realize(Options(), ['-C', conf])
            logging.getLogger('zdtest').warning('hello')
            for handler in root.handlers:
                handler.flush()
        finally:
            for handler in root.handlers:
                if handler not in handlers:
                    handler.close()
            root.handlers[:] = handlers
            root.setLevel(level)
        self.assertIsNotNone(options.config_logger)
        with open(log) as f:
            self.assertEqual(f.read(), 'hello\n')
        self.assertIsNone(self.realize(Options(), []).config_logger)

    def test_help_keeps_literal_percent_signs(self):
        options = ZDOptions()
        stdout = io.StringIO()
        with unittest.mock.patch('sys.stdout', stdout), \
                self.assertRaises(SystemExit):
            options.realize(['-h'], progname='prog',
                            doc='%s fills 100% of it')
        self.assertEqual(stdout.getvalue(), 'prog fills 100% of it\n')


class TestRunnerOptions(TestZDOptions):

    OptionsClass = RunnerOptions
    input_args = ['-b', '3', '-f', '-s', 'sock', '-x', '1,3', '-m', '077',
                  '-t', 'out.log']
    output_opts = [('-b', '3'), ('-f', ''), ('-s', 'sock'), ('-x', '1,3'),
                   ('-m', '077'), ('-t', 'out.log')]

    def test_values(self):
        options = RunnerOptions()
        options.realize(self.input_args, progname=self.progname)
        self.assertEqual(
            (options.backofflimit, options.forever, options.sockname,
             options.exitcodes, options.umask, options.transcript),
            (3, 1, 'sock', [1, 3], 0o77, 'out.log'))

    def test_defaults(self):
        options = RunnerOptions()
        options.realize([], progname=self.progname)
        self.assertEqual(
            (options.backofflimit, options.daemon, options.forever,
             options.sockname, options.exitcodes, options.user,
             options.umask, options.directory, options.transcript,
             options.stoptimeut),
            (10, 1, 0, 'zdsock', [0, 2], None, 0o22, None, '/dev/null', 300))
        # Defaults are copies: changing one options object's list does
        # not change the next one's.
        options.exitcodes.append(99)
        other = RunnerOptions()
        other.realize([], progname=self.progname)
        self.assertEqual(other.exitcodes, [0, 2])

    def test_command_line_beats_configuration(self):
        options = RunnerOptions()
        options.realize(['-C', SAMPLE_CONF, '-b', '4', '-x', '3'],
                        progname=self.progname)
        self.assertEqual((options.backofflimit, options.exitcodes,
                          options.stoptimeut, options.transcript),
                         (4, [3], 30, 'transcript.log'))

    def test_daemon_off_in_configuration(self):
        work = Workspace(self)
        conf = work.write('off.conf', '<runner>\n daemon off\n</runner>\n')
        options = RunnerOptions()
        options.realize(['-C', conf], progname=self.progname)
        self.assertIs(options.daemon, False)


class TestZDCtlOptions(TestZDOptions):

    OptionsClass = zdctl.ZDCtlOptions
    input_args = ['-p', 'sleep 100', '-T', '5', 'status']
    output_opts = [('-p', 'sleep 100'), ('-T', '5')]
    output_args = ['status']

    def test_values(self):
        options = zdctl.ZDCtlOptions()
        options.realize(self.input_args, progname=self.progname)
        self.assertEqual(options.program, ['sleep', '100'])
        self.assertEqual(options.start_timeout, 5)
        self.assertEqual(options.python, sys.executable)

    def test_action_required(self):
        self.assertEqual(self.usage_error(['-p', 'sleep 100']),
                         'an action argument is required')

    def test_program_required(self):
        self.assertEqual(self.usage_error(['status']),
                         'no program specified; use -p or -C')

    def test_schema_set_before_realize_is_used(self):
        # What ZEO's zeoctl does.
        work = Workspace(self)
        shutil.copy(os.path.join(os.path.dirname(zdaemon.__file__),
                                 'schema.xml'),
                    os.path.join(work.path, 'ctl.xml'))
        options = zdctl.ZDCtlOptions()
        options.schemadir = work.path
        options.schemafile = 'ctl.xml'
        options.realize(['-C', SAMPLE_CONF, 'status'],
                        progname=self.progname)
        self.assertEqual(options.schemafile,
                         os.path.join(work.path, 'ctl.xml'))


class TestZDRunOptions(TestZDOptions):

    OptionsClass = zdrun.ZDRunOptions
    input_args = ['-s', 'sock', 'sleep', '100']
    output_opts = [('-s', 'sock')]
    output_args = ['sleep', '100']

    def setUp(self):
        # The manager's options start the configured eventlog: not here.
        patcher = unittest.mock.patch.object(RunnerOptions, 'load_logconf')
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_values(self):
        options = zdrun.ZDRunOptions()
        options.realize(self.input_args, progname=self.progname)
        self.assertEqual(options.program, ['sleep', '100'])
        self.assertEqual(options.sockname, os.path.abspath('sock'))
        self.assertEqual(options.transcript, '/dev/null')

    def test_stop_timeout_without_configuration_file(self):
        # The original had none: stop never escalated to SIGKILL.
        options = zdrun.ZDRunOptions()
        options.realize(['sleep', '1'], progname=self.progname)
        self.assertEqual(options.stoptimeut, 300)
        options = zdrun.ZDRunOptions()
        options.realize(['--stop-timeout', '2', 'sleep', '1'],
                        progname=self.progname)
        self.assertEqual(options.stoptimeut, 2)

    def test_program_from_configuration(self):
        options = zdrun.ZDRunOptions()
        options.realize(['-C', SAMPLE_CONF], progname=self.progname)
        self.assertEqual(options.program[0], 'runzeo')

    def test_program_required(self):
        self.assertEqual(self.usage_error([]),
                         'no program specified (use -C or positional args)')

    def test_eventlog_falls_back_to_the_top_level_one(self):
        options = zdrun.ZDRunOptions()
        with unittest.mock.patch.object(RunnerOptions, 'load_logconf') as m:
            options.realize(['-C', SAMPLE_CONF], progname=self.progname)
        self.assertEqual([c.args[1] for c in m.call_args_list],
                         ['runner.eventlog', 'eventlog'])


class DurationTests(unittest.TestCase):
    """Back-off limit and time-outs are positive whole seconds, on the
    command line and in configuration files; the error names the option,
    or the line."""

    def error(self, args):
        stderr = io.StringIO()
        with unittest.mock.patch('sys.stderr', stderr), \
                self.assertRaises(SystemExit) as caught:
            zdctl.ZDCtlOptions().realize(args + ['status'], progname='zd')
        self.assertEqual(caught.exception.code, 2)
        return stderr.getvalue().splitlines()

    def test_command_line(self):
        for option, value, reason in [
                ('-b', '-5', 'must be a positive number of seconds'),
                ('-b', '0', 'must be a positive number of seconds'),
                ('--backoff-limit', 'x', 'not a whole number of seconds'),
                ('-T', '0', 'must be a positive number of seconds'),
                ('--start-timeout', '-1',
                 'must be a positive number of seconds'),
                ('--stop-timeout', '0',
                 'must be a positive number of seconds'),
        ]:
            self.assertEqual(
                self.error(['-p', 'sleep 1', option, value]),
                [f'Error: invalid value for {option} {value!r}: {reason}',
                 'For help, use zd -h'])

    def test_configuration(self):
        work = Workspace(self)
        for key in ('backoff-limit', 'start-timeout', 'stop-timeout'):
            conf = work.write('zd.conf', f'''\
                <runner>
                  program sleep 1
                  {key} 0
                </runner>
                ''')
            self.assertEqual(
                self.error(['-C', conf])[0],
                'Error: must be a positive number of seconds'
                f' (line 3, in file://{conf})')


class DatatypeTests(unittest.TestCase):

    def test_list_of_ints(self):
        self.assertEqual(zdoptions.list_of_ints(''), [])
        self.assertEqual(zdoptions.list_of_ints('1,2'), [1, 2])
        self.assertEqual(zdoptions.list_of_ints('0, 2'), [0, 2])
        self.assertRaises(ValueError, zdoptions.list_of_ints, '1,x')

    def test_octal_type(self):
        self.assertEqual(zdoptions.octal_type('022'), 0o22)
        self.assertEqual(zdoptions.octal_type('0'), 0)
        self.assertRaises(ValueError, zdoptions.octal_type, '8')

    def test_name2signal(self):
        self.assertEqual(zdoptions.name2signal('usr2'), signal.SIGUSR2)
        self.assertEqual(zdoptions.name2signal('SIGint'), signal.SIGINT)
        self.assertEqual(zdoptions.name2signal('2'), signal.SIGINT)
        self.assertEqual(zdoptions.name2signal(str(signal.SIGRTMIN + 1)),
                         signal.SIGRTMIN + 1)
        for bad in ('SIG_DFL', 'sig_ign', 'FOO', '0', str(signal.NSIG)):
            self.assertRaises(ValueError, zdoptions.name2signal, bad)

    def test_existing_parent_directory(self):
        work = Workspace(self)
        existing = zdoptions.existing_parent_directory
        self.assertEqual(existing(work.path), work.path)
        new = os.path.join(work.path, 'new')
        self.assertEqual(existing(new), new)
        self.assertRaises(ValueError, existing,
                          os.path.join(work.path, 'no', 'new'))
        with unittest.mock.patch.dict(os.environ, HOME=work.path):
            self.assertEqual(existing('~/new'), new)

    def test_existing_parent_dirpath(self):
        work = Workspace(self)
        dirpath = zdoptions.existing_parent_dirpath
        self.assertEqual(dirpath('zdsock'), 'zdsock')
        self.assertEqual(dirpath('run/zdsock'), 'run/zdsock')
        sock = os.path.join(work.path, 'run', 'zdsock')
        self.assertEqual(dirpath(sock), sock)
        self.assertRaises(ValueError, dirpath,
                          os.path.join(work.path, 'a', 'b', 'zdsock'))


def test_suite():
    import doctest
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    suite.addTest(doctest.DocTestSuite(zdoptions))
    return suite
