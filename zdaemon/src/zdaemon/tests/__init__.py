"""zdaemon's tests; ``testzdoptions.TestZDOptions`` is also a base class
for the tests of other programs' option classes (ZEO uses it)."""
