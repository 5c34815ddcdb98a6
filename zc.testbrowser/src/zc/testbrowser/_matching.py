"""Finding things by what a person reads on the page, and saying clearly
what is there when nothing (or too much) matches.

Shared by links, forms and controls, and by any future backend: it works
on plain ``(searchable texts, candidate)`` pairs, not on HTML.
"""
import re

from zc.testbrowser._errors import AmbiguityError

RegexType = re.Pattern


def normalize(text):
    """Collapse runs of whitespace (including non-breaking spaces) into one
    space and strip the ends, as a browser renders text. (``str.split``
    knows the same whitespace as the regex ``\\s``, \\xa0 included, at a
    quarter of the cost: checked for every code point.)"""
    return ' '.join(text.split())


def substring_matcher(wanted):
    """A predicate: does a text contain ``wanted`` (whitespace-normalised),
    or match it when it is a compiled regex?"""
    if isinstance(wanted, RegexType):
        return _searcher(wanted)
    wanted = normalize(wanted)
    return lambda text: text is not None and wanted in text


def word_matcher(wanted):
    """A predicate for labels: ``wanted`` must appear as whole words
    (case-sensitive, whitespace-normalised), so 'Text' finds 'Text Control'
    but not 'Context'. A compiled regex is searched as it is."""
    if isinstance(wanted, RegexType):
        return _searcher(wanted)
    return _searcher(
        re.compile(r'(?<!\w)%s(?!\w)' % re.escape(normalize(wanted))))


def _searcher(pattern):
    return lambda text: text is not None and pattern.search(text) is not None


def describe(wanted):
    """How a search term appears in error messages."""
    if isinstance(wanted, RegexType):
        return f're.compile({wanted.pattern!r})'
    return repr(wanted)


def choose(matches, index, what, available, describe=repr,
           lookup=LookupError):
    """Pick the match at ``index`` (or the only one).

    ``what`` names the search ("label 'Submit'"); ``available`` is a
    callable returning the repr lines of everything that could have been
    found, so the listing is only built when an error is raised;
    ``describe`` gives the line for a match.
    """
    if index is None:
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguityError(
                f'{what} matches:\n' + _indent(map(describe, matches)))
        raise lookup(f'{what}\navailable items:\n' + _indent(available()))
    if 0 <= index < len(matches):
        return matches[index]
    if matches:
        raise lookup(
            f'{what} index {index}\navailable items:\n'
            + _indent(f'{i}: {describe(m)}' for i, m in enumerate(matches)))
    raise lookup(f'{what}\navailable items:\n' + _indent(available()))


def _indent(lines):
    lines = list(lines)
    if not lines:
        return '  (none)'
    return '\n'.join('  ' + line for line in lines)
