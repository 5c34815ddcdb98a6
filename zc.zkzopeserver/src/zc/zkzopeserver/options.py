"""Settings as paste passes them (strings) turned into checked values.

Every problem is a ``ConfigError`` whose message names the setting, so a
bad ini file or command line gives one clear line, not a traceback from
deep inside the server.
"""
import logging

#: Seconds in-flight requests get to finish after a stop, by default.
DEFAULT_GRACE_PERIOD = 30.0

_TRUE = ('true', 'yes', 'on', '1')
_FALSE = ('false', 'no', 'off', '0', '')


class ConfigError(ValueError):
    """A setting is missing or has a value that cannot be used."""


def integer(name, value, minimum=0, maximum=None):
    """``value`` (an int or its text) as an int of at least ``minimum``
    (and at most ``maximum``, when given)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(
            f'{name} must be a whole number, not {value!r}') from None
    if number < minimum:
        raise ConfigError(f'{name} must be at least {minimum}, not {number}')
    if maximum is not None and number > maximum:
        raise ConfigError(f'{name} must be at most {maximum}, not {number}')
    return number


def seconds(name, value):
    """``value`` (a number or its text) as a non-negative float."""
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(
            f'{name} must be a number of seconds, not {value!r}') from None
    if not number >= 0:  # also refuses nan
        raise ConfigError(f'{name} must not be negative, not {value!r}')
    return number


def boolean(name, value):
    """``value`` (a bool or paste's text for one) as a bool."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f'{name} must be true or false, not {value!r}')


def required(name, value):
    """``value`` stripped; a missing or blank one is an error naming
    the setting."""
    text = '' if value is None else str(value).strip()
    if not text:
        raise ConfigError(f'missing required setting: {name}')
    return text


def service_path(value):
    """The ZooKeeper path servers register under: absolute."""
    path = required('path', value)
    if not path.startswith('/'):
        raise ConfigError(
            f'path must be an absolute ZooKeeper path, not {path!r}')
    return path


def monitor_address(value):
    """``monitor_server`` (``HOST:PORT``, host may be empty) as the
    address zc.monitor listens at, or None for no monitor."""
    text = '' if value is None else str(value).strip()
    if not text:
        return None
    try:
        from zc.monitor import parse_address
    except ImportError:
        raise ConfigError(
            'monitor_server needs zc.monitor: install'
            " 'zc.zkzopeserver[monitor]'") from None
    try:
        return parse_address(text)
    except ValueError as error:
        raise ConfigError(f'monitor_server: {error}') from None


def log_level(value):
    """The logging level ``value`` names (``INFO``, ``debug``, ``20``), or
    None when it is not a level name."""
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    return level if isinstance(level, int) else None


def configure_loggers(value):
    """Configure logging from ``loggers``: a level name calls
    ``logging.basicConfig(level=...)``; anything else is ZConfig logger
    configuration text in which ``$$(`` stands for ``%(`` (ini files
    would interpolate ``%(``)."""
    level = log_level(value)
    if level is not None:
        logging.basicConfig(level=level)
        return
    import ZConfig
    text = str(value).replace('$$(', '%(')
    try:
        ZConfig.configureLoggers(text)
    except ZConfig.ConfigurationError as error:
        message = ' '.join(str(error).split())
        raise ConfigError(f'loggers: {message}') from None
