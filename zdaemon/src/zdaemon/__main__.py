"""``python -m zdaemon``: the zdaemon command line."""
from zdaemon.zdctl import main

main()
