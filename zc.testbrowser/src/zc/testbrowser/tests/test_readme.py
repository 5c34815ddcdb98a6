"""The README is the documentation and a doctest."""
import doctest
import unittest


def test_suite():
    return unittest.TestSuite([
        doctest.DocFileSuite(
            '../README.rst',
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
    ])
