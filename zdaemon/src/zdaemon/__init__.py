"""zdaemon: run a program as a daemon, restart it when it dies, and control
it from the ``zdaemon`` command line through a Unix socket.

``zdaemon.zdoptions`` holds the option framework (also used by ZEO's
``runzeo``), ``zdaemon.zdctl`` the command line, and ``zdaemon.zdrun`` the
daemon manager.
"""
