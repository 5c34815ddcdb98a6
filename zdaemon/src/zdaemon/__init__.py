"""zdaemon: run a program as a daemon, restart it when it dies, and control
it from the ``zdaemon`` command line through a Unix socket.

``zdaemon.zdoptions`` holds the option framework (also used by ZEO's
``runzeo``), ``zdaemon.zdctl`` the command line, and ``zdaemon.zdrun`` the
daemon manager.

``zdaemon.manager_status(socket_name)`` asks a running manager for its
status (what ``zdaemon status -l`` shows, as a dict; None when no manager
answers), for programs that watch many managers at once.
"""
from zdaemon._control import manager_status

__all__ = ['manager_status']
