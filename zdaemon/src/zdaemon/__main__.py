"""``python -m zdaemon``: the zdaemon command line."""
import sys

from zdaemon.zdctl import main

# How to call us again (messages; start runs the manager the same way).
sys.argv[0] = 'python -m zdaemon'
main()
