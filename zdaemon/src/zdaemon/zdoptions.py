"""Options from the command line, the environment and a ZConfig file.

An option is declared once, with :meth:`ZDOptions.add`: the attribute it
sets, its short and long flags, the dotted path of the configuration value
it mirrors, an environment variable, a default and whether it is required.
:meth:`ZDOptions.realize` then fills the attributes, the command line
winning over the environment, the environment over the configuration file
and the configuration file over the default.

ZEO's ``runzeo`` and ``zeoctl`` subclass these classes, and every server
``ZEO.server()`` starts goes through :meth:`ZDOptions.realize`: the
attribute names, the class-attribute hooks and the order of precedence are
a contract, and realize is kept cheap: schemas are parsed once per process,
and ZConfig (a slow import) is imported only when there is a configuration
file.
"""
import copy
import getopt
import os
import signal
import sys
import threading


class _Version:
    """The installed zdaemon's version, looked up on first use.

    Looking up distribution metadata scans ``sys.path``; most programs
    never print their version, so ``__init__`` does not pay for it.
    """

    _value = None

    def __get__(self, instance, owner):
        if _Version._value is None:
            import importlib.metadata
            try:
                _Version._value = importlib.metadata.version('zdaemon')
            except importlib.metadata.PackageNotFoundError:
                _Version._value = 'unknown'
        return _Version._value


class _SchemaCache:
    """Loaded ZConfig schemas by path, reloaded when the file changes.

    ZConfig documents a loaded schema as reusable, and a configuration's
    ``%import`` extends a private copy of it, so one schema object can serve
    every realize in the process (ZEO's test servers realize hundreds).
    """

    def __init__(self):
        self._schemas = {}
        self._lock = threading.Lock()

    def load(self, path):
        try:
            stat = os.stat(path)
        except OSError:
            stamp = None  # not a local file: let ZConfig open (or fail) it
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._schemas.get(path)
        if stamp is not None and cached is not None and cached[0] == stamp:
            return cached[1]
        import ZConfig
        schema = ZConfig.loadSchema(path)
        if stamp is not None:
            with self._lock:
                self._schemas[path] = (stamp, schema)
        return schema


_schemas = _SchemaCache()


class ZDOptions:
    # No docstring, on purpose: a class's own __doc__ is its ``-h`` text,
    # and this framework class has no usage of its own.  See the module
    # docstring.

    # Hooks for subclasses and their users (set before realize()):
    doc = None              # help text; else the class's own __doc__
    progname = None         # for messages; realize() sets it (argv[0])
    configfile = None       # -C; else default_configfile()
    schemadir = None        # directory of schemafile; None: this package
    schemafile = 'schema.xml'
    logsectionname = None   # dotted path of the eventlog section to start
    positional_args_allowed = 0

    # Results of realize():
    schema = None
    configroot = None
    confighandlers = None
    config_logger = None    # the started eventlog section, if any

    version = _Version()

    def __init__(self):
        self.names_list = []        # (attribute, confname) in add() order
        self.short_options = ''     # for getopt
        self.long_options = []      # for getopt
        self.options_map = {}       # '-x' / '--long' -> (name, handler)
        self.default_map = {}       # attribute -> default
        self.required_map = {}      # attribute -> message when missing
        self.environ_map = {}       # variable -> (name, handler)
        self.zconfig_options = []   # -X key=value overrides
        self.options = []
        self.args = []
        self.add(None, None, 'h', 'help', self.help)
        self.add(None, None, None, 'version', self.print_version)
        self.add('configfile', None, 'C:', 'configure=')
        self.add(None, None, 'X:', handler=self.zconfig_options_handler)

    def zconfig_options_handler(self, arg):
        """``-X key=value``: repeatable, so it collects instead of setting
        an attribute (a repeated option with another value would be a
        conflict)."""
        self.zconfig_options.append(arg)

    def add(self, name=None, confname=None, short=None, long=None,
            handler=None, default=None, required=None, flag=None, env=None):
        """Declare an option.

        ``name`` is the attribute realize() sets; ``confname`` the dotted
        path of its value in the configuration (e.g.
        ``'runner.backoff_limit'``); ``short`` is ``'x'`` or ``'x:'`` (takes
        an argument) and ``long`` is ``'name'`` or ``'name='``; ``handler``
        converts the argument (a ValueError is a usage error; None means
        "set nothing"); ``flag`` is the value of a flag that takes no
        argument; ``env`` names an environment variable; ``required`` is
        the message given when no source supplied a value.
        """
        if flag is not None:
            if handler is not None:
                raise ValueError('use at most one of flag= and handler=')
            if not short and not long:
                raise ValueError('flag= requires a command line flag')
            if short and short.endswith(':') or long and long.endswith('='):
                raise ValueError('flag= requires a flag without an argument')
            handler = _Flag(flag)
        if short and long and short.endswith(':') != long.endswith('='):
            raise ValueError(
                f'inconsistent short/long options: {short!r} {long!r}')
        keys = []
        if short:
            if short.startswith('-'):
                raise ValueError(
                    f'short option should not start with "-": {short!r}')
            if len(short) not in (1, 2) or short[1:] not in ('', ':'):
                raise ValueError(
                    f'short option should be "x" or "x:": {short!r}')
            keys.append('-' + short[0])
        if long:
            if long.startswith('-'):
                raise ValueError(
                    f'long option should not start with "-": {long!r}')
            keys.append('--' + long.rstrip('='))
        for key in keys:
            if key in self.options_map:
                raise ValueError(f'duplicate option key {key!r}')
        # Validated: now register, so a rejected add() changes nothing.
        for key in keys:
            self.options_map[key] = (name, handler)
        if short:
            self.short_options += short
        if long:
            self.long_options.append(long)
        if env:
            self.environ_map[env] = (name, handler)
        if name:
            if not hasattr(self, name):
                setattr(self, name, None)
            self.names_list.append((name, confname))
            if default is not None:
                self.default_map[name] = default
            if required:
                self.required_map[name] = required

    def remove(self, name=None, confname=None, short=None, long=None):
        """Forget an option declared with add() (by any of its keys)."""
        if name:
            self.names_list = [(n, c) for n, c in self.names_list
                               if n != name]
            self.default_map.pop(name, None)
            self.required_map.pop(name, None)
            self.environ_map = {env: (n, h)
                                for env, (n, h) in self.environ_map.items()
                                if n != name}
        if confname:
            self.names_list = [(n, c) for n, c in self.names_list
                               if c != confname]
        if short:
            key = short[0]
            self.options_map.pop('-' + key, None)
            self.short_options = _remove_short(self.short_options, key)
        if long:
            self.options_map.pop('--' + long.rstrip('='), None)
            self.long_options = [o for o in self.long_options
                                 if o.rstrip('=') != long.rstrip('=')]

    def realize(self, args=None, progname=None, doc=None,
                raise_getopt_errs=True):
        """Fill the option attributes from ``args`` (default
        ``sys.argv[1:]``), the environment, the configuration file and the
        defaults; any user error ends in :meth:`usage` (exit status 2)."""
        if args is None:
            args = sys.argv[1:]
        self.progname = progname if progname is not None else sys.argv[0]
        if doc is not None:
            self.doc = doc
        elif self.doc is None:
            self.doc = type(self).__doc__
        self.zconfig_options = []
        self.options, self.args = self._parse(list(args), raise_getopt_errs)
        called = self._apply_command_line()
        if self.args and not self.positional_args_allowed:
            self.usage(f'positional arguments are not supported: '
                       f'{" ".join(self.args)}')
        self._apply_environment(called)
        if self.configfile is None:
            self.configfile = self.default_configfile()
        if self.zconfig_options and self.configfile is None:
            self.usage('configuration overrides (-X) cannot be used'
                       ' without a configuration file')
        if self.configfile is not None:
            self.load_schema()
            self.load_configfile()
            self._apply_configuration()
        for name, default in self.default_map.items():
            if getattr(self, name) is None:
                setattr(self, name, copy.copy(default))
        for name, message in self.required_map.items():
            if getattr(self, name) is None:
                self.usage(message)
        if self.logsectionname:
            self.load_logconf(self.logsectionname)

    def _parse(self, args, strict):
        if strict:
            try:
                return getopt.getopt(args, self.short_options,
                                     self.long_options)
            except getopt.GetoptError as error:
                self.usage(error)
        return _lenient_getopt(args, self.short_options, self.long_options)

    def _apply_command_line(self):
        """Run the handlers and set attributes; return the handlers run."""
        seen = {}
        called = set()
        for opt, arg in self.options:
            name, handler = self.options_map[opt]
            if handler is not None:
                called.add(handler)
                try:
                    arg = handler(arg)
                except ValueError as error:
                    self.usage(f'invalid value for {opt} {arg!r}: {error}')
            if name and arg is not None:
                if name in seen and seen[name] != arg:
                    self.usage(f'conflicting command line option {opt!r}')
                seen[name] = arg
                setattr(self, name, arg)
        return called

    def _apply_environment(self, called):
        for variable, (name, handler) in self.environ_map.items():
            if variable not in os.environ:
                continue
            if name and getattr(self, name) is not None:
                continue
            if not name and handler in called:
                continue
            value = os.environ[variable]
            if handler is not None:
                try:
                    value = handler(value)
                except ValueError as error:
                    self.usage(f'invalid environment value for {variable}'
                               f' {value!r}: {error}')
            if name and value is not None:
                setattr(self, name, value)

    def _apply_configuration(self):
        for name, confname in self.names_list:
            if confname and getattr(self, name) is None:
                value = self.configroot
                for part in confname.split('.'):
                    value = getattr(value, part, None)
                    if value is None:
                        break
                if value is not None:
                    setattr(self, name, value)

    def default_configfile(self):
        """The configuration file used when there is no ``-C``: none.
        Subclasses may look for one in a conventional place."""
        return None

    def load_schema(self):
        """Load ``schemafile`` from ``schemadir``; ``schemafile`` becomes
        the absolute path (an absolute schemafile stays as it is)."""
        if self.schemadir is None:
            self.schemadir = os.path.dirname(os.path.abspath(__file__))
        self.schemafile = os.path.abspath(
            os.path.join(self.schemadir, self.schemafile))
        import ZConfig
        try:
            self.schema = _schemas.load(self.schemafile)
        except ZConfig.ConfigurationError as error:
            self.usage(f'cannot load schema {self.schemafile}: {error}')

    def load_configfile(self):
        import ZConfig
        try:
            self.configroot, self.confighandlers = ZConfig.loadConfig(
                self.schema, self.configfile, self.zconfig_options)
        except ZConfig.ConfigurationError as error:
            self.usage(_located(error))
        except OSError as error:
            self.usage(f'cannot read configuration file'
                       f' {self.configfile}: {error.strerror or error}')

    def load_logconf(self, sectname='eventlog'):
        """Start the logging section at dotted path ``sectname`` of the
        configuration, if there is one; it becomes ``config_logger``."""
        section = self.configroot
        for part in sectname.split('.'):
            if section is None:
                break
            section = getattr(section, part, None)
        self.config_logger = section
        if section is not None:
            section.startup()

    def usage(self, msg):
        """Report a user error on stderr and exit with status 2."""
        progname = self.progname or sys.argv[0]
        sys.stderr.write(f'Error: {msg}\n')
        sys.stderr.write(f'For help, use {progname} -h\n')
        sys.exit(2)

    def help(self, dummy):
        """Print the help text (``%s`` becomes the program name); exit 0."""
        doc = self.doc if self.doc is not None else type(self).__doc__
        if doc:
            progname = self.progname or sys.argv[0]
            try:
                text = doc % progname
            except (TypeError, ValueError):
                text = doc.replace('%s', progname)
        else:
            text = 'No help available.'
        sys.stdout.write(text.rstrip('\n') + '\n')
        sys.exit(0)

    def print_version(self, dummy):
        sys.stdout.write(f'{self.version}\n')
        sys.exit(0)


def _located(error):
    """ZConfig's message, with the line and file when ZConfig knows them
    but does not say (it does not for an unknown key)."""
    message = str(error)
    lineno = getattr(error, 'lineno', None)
    if isinstance(lineno, int) and lineno > 0 and '(line ' not in message:
        url = getattr(error, 'url', None)
        message += (f' (line {lineno}, in {url})' if url
                    else f' (line {lineno})')
    return message


class _Flag:
    """The handler of a flag: whatever the argument, the flag's value.
    (A class, not a lambda, so handlers compare by what they do.)"""

    def __init__(self, value):
        self.value = value

    def __call__(self, arg):
        return self.value

    def __eq__(self, other):
        return isinstance(other, _Flag) and other.value == self.value

    def __hash__(self):
        return hash((_Flag, self.value))


def _remove_short(short_options, key):
    out, i = [], 0
    while i < len(short_options):
        letter = short_options[i]
        colon = short_options[i + 1:i + 2] == ':'
        if letter != key:
            out.append(letter + (':' if colon else ''))
        i += 2 if colon else 1
    return ''.join(out)


def _lenient_getopt(args, short_options, long_options):
    """getopt that skips options it does not know (and options missing
    their argument) instead of failing: for a first pass over a command
    line that also holds options meant for someone else."""
    options = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == '--':
            return options, args[i + 1:]
        if not arg.startswith('-') or arg == '-':
            return options, args[i:]
        for taken in (1, 2):
            try:
                found, rest = getopt.getopt(args[i:i + taken],
                                            short_options, long_options)
            except getopt.GetoptError:
                continue
            if not rest:
                options.extend(found)
                i += taken
                break
        else:
            i += 1
    return options, []


class RunnerOptions(ZDOptions):
    # No docstring: see ZDOptions.  The options shared by the control
    # program (zdctl) and the daemon manager (zdrun).

    uid = gid = None    # the -u user's ids, once zdctl resolved them

    def __init__(self):
        ZDOptions.__init__(self)
        self.add('backofflimit', 'runner.backoff_limit',
                 'b:', 'backoff-limit=', positive_seconds, default=10)
        self.add('daemon', 'runner.daemon', 'd', 'daemon', flag=1, default=1)
        self.add('forever', 'runner.forever', 'f', 'forever',
                 flag=1, default=0)
        self.add('sockname', 'runner.socket_name', 's:', 'socket-name=',
                 existing_parent_dirpath, default='zdsock')
        self.add('exitcodes', 'runner.exit_codes', 'x:', 'exit-codes=',
                 list_of_ints, default=[0, 2])
        self.add('user', 'runner.user', 'u:', 'user=')
        self.add('umask', 'runner.umask', 'm:', 'umask=', octal_type,
                 default=0o22)
        self.add('directory', 'runner.directory', 'z:', 'directory=',
                 existing_parent_directory)
        self.add('transcript', 'runner.transcript', 't:', 'transcript=',
                 default='/dev/null')
        # Not in the original: without a configuration file there was no
        # stop timeout, so a stop never escalated to SIGKILL.
        self.add('stoptimeut', 'runner.stop_timeout', None, 'stop-timeout=',
                 positive_seconds, default=300)


# Datatypes: command line handlers and ZConfig datatypes alike.

def list_of_ints(arg):
    """``'0,2'`` -> ``[0, 2]``; ``''`` -> ``[]``."""
    if not arg:
        return []
    return [int(item) for item in arg.split(',')]


def octal_type(arg):
    """``'022'`` -> ``0o22``."""
    return int(arg, 8)


def positive_seconds(arg):
    """A duration: a whole number of seconds, at least 1 (a back-off limit
    or time-out of 0 or less makes no sense)."""
    try:
        value = int(arg)
    except ValueError:
        raise ValueError('not a whole number of seconds') from None
    if value < 1:
        raise ValueError('must be a positive number of seconds')
    return value


def name2signal(string):
    """A signal given by name (any case, with or without ``SIG``) or number.

    >>> name2signal('term'), name2signal('SIGHUP'), name2signal('9')
    (<Signals.SIGTERM: 15>, <Signals.SIGHUP: 1>, <Signals.SIGKILL: 9>)
    >>> name2signal('sig_ign')
    Traceback (most recent call last):
    ...
    ValueError: invalid signal name 'sig_ign'
    >>> name2signal('nosuch')
    Traceback (most recent call last):
    ...
    ValueError: invalid signal name 'nosuch'
    >>> name2signal('999')
    Traceback (most recent call last):
    ...
    ValueError: invalid signal number: 999
    """
    try:
        number = int(string)
    except ValueError:
        pass
    else:
        if not 0 < number < signal.NSIG:
            raise ValueError(f'invalid signal number: {number}')
        try:
            return signal.Signals(number)
        except ValueError:
            return number    # a real-time signal without a name
    name = string.upper()
    if not name.startswith('SIG'):
        name = 'SIG' + name
    if '_' in name or name not in signal.Signals.__members__:
        raise ValueError(f'invalid signal name {string!r}')
    return signal.Signals[name]


def signame(sig):
    """``'SIGTERM'`` for 15; ``'signal 99'`` for a number without a name."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f'signal {sig}'


def existing_parent_directory(arg):
    """A directory that exists or whose parent exists (it can be made)."""
    path = os.path.expanduser(arg)
    if os.path.isdir(path):
        return path
    parent = os.path.dirname(path) or '.'
    if os.path.isdir(parent):
        return path
    raise ValueError(f'{arg!r} is neither an existing directory nor one'
                     ' whose parent directory exists')


def existing_parent_dirpath(arg):
    """A file path whose directory's parent exists (the directory itself
    may be missing: zdctl creates it)."""
    path = os.path.expanduser(arg)
    grandparent = os.path.dirname(os.path.dirname(path))
    if not grandparent or os.path.isdir(grandparent):
        return path
    raise ValueError(f'the grandparent directory of {arg!r} does not exist'
                     f' ({grandparent})')
