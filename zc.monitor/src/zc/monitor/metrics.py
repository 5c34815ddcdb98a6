"""Metrics in the Prometheus text exposition format (version 0.0.4).

Providers (``IMetricsProvider`` utilities and entry points in the group
``zc.monitor.metrics``) return metric families; this module collects them,
checks them and writes them out, for the ``metrics`` command and the HTTP
endpoint. A provider returns plain tuples if it does not want to import
zc.monitor.
"""
import collections
import logging
import math
import re

from zc.monitor import plugins

logger = logging.getLogger(__name__)

#: A metric family: ``samples`` is a list of ``(labels, value)`` pairs.
Metric = collections.namedtuple('Metric', 'name type help samples')

#: The content type of ``render``'s output over HTTP.
CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
TYPES = ('counter', 'gauge', 'untyped')

_METRIC_NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
_LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


def metrics(connection):
    """Print metrics in the Prometheus text format

    The numbers the ZODB/ZEO commands report (per database), the process's
    memory, and whatever installed plug-ins export, for scraping by
    standard monitoring.
    """
    connection.write(render(collect()))


def collect(providers=None):
    """Every provider's metric families, checked and merged by name.

    Returns ``(families, problems)``: a provider that fails or returns a
    malformed metric is logged, reported in ``problems`` and skipped, so
    the others still get through.
    """
    providers = plugins.metrics_providers() if providers is None else providers
    families = {}
    problems = []
    for name, provider in providers.items():
        try:
            checked = [_checked(Metric(*metric)) for metric in provider()]
        except Exception as error:
            logger.warning('Metrics provider %r failed', name, exc_info=True)
            problems.append(f'provider {name!r} failed: '
                            f'{type(error).__name__}: {error}')
            continue
        for metric in checked:
            known = families.get(metric.name)
            if known is None:
                families[metric.name] = metric
            elif known.type == metric.type:
                known.samples.extend(metric.samples)
            else:
                problems.append(f'provider {name!r}: {metric.name} is a '
                                f'{metric.type} here but a {known.type} '
                                f'elsewhere; skipped')
    return list(families.values()), problems


def _checked(metric):
    """``metric`` with its samples as a list of ``(dict, number)``, or a
    ValueError saying what is wrong with it."""
    if not _METRIC_NAME.match(metric.name):
        raise ValueError(f'invalid metric name {metric.name!r}')
    if metric.type not in TYPES:
        raise ValueError(f'invalid type {metric.type!r} of {metric.name}')
    samples = []
    for labels, value in metric.samples:
        labels = dict(labels)
        for label in labels:
            if not _LABEL_NAME.match(label) or label.startswith('__'):
                raise ValueError(
                    f'invalid label name {label!r} in {metric.name}')
        if not isinstance(value, (int, float)):
            raise ValueError(f'value {value!r} of {metric.name} is not a '
                             f'number')
        samples.append((labels, value))
    return metric._replace(samples=samples)


def render(collected):
    """The text exposition of ``collect()``'s result."""
    families, problems = collected
    lines = [f'# {_escape_help(problem)}' for problem in problems]
    for family in families:
        lines.append(f'# HELP {family.name} {_escape_help(family.help)}')
        lines.append(f'# TYPE {family.name} {family.type}')
        for labels, value in family.samples:
            lines.append(f'{family.name}{_labels(labels)} {_value(value)}')
    return ''.join(line + '\n' for line in lines)


def _escape_help(text):
    return text.replace('\\', r'\\').replace('\n', r'\n')


def _labels(labels):
    if not labels:
        return ''
    pairs = ','.join(
        f'{name}="{_escape_label(str(value))}"'
        for name, value in sorted(labels.items()))
    return '{' + pairs + '}'


def _escape_label(text):
    return text.replace('\\', r'\\').replace('"', r'\"').replace('\n', r'\n')


def _value(value):
    if isinstance(value, int):  # bool included
        return str(int(value))
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'
    return repr(value)
