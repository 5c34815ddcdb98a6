"""The one-command cluster: ``zc-stack up|status|smoke|logs|down``.

See README.rst in this package for what it runs and how the pieces find
each other.
"""
