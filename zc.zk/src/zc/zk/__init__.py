"""High-level ZooKeeper for connecting services.

Register servers under a service path (ephemeral ``host:port`` nodes),
find the live servers of a service, keep service configuration in node
properties (JSON) with live updates, and model a system as a tree of
nodes, properties and links written in a text format.
"""
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

from zc.zk import event
from zc.zk._addresses import parse_addr
from zc.zk._client import ZK, ZooKeeper
from zc.zk._data import decode, encode
from zc.zk._errors import BadPropertyLink, CancelWatch, FailedConnect, LinkLoop
from zc.zk._security import digest_acl, parse_acl, world_acl
from zc.zk._tree import ParseNode, TreeSyntaxError, parse_tree
from zc.zk._views import Children, Properties
from zc.zk.event import RegisteringServer

__all__ = [
    'ZooKeeper', 'ZK', 'Children', 'Properties',
    'parse_tree', 'ParseNode', 'TreeSyntaxError',
    'encode', 'decode', 'parse_addr',
    'OPEN_ACL_UNSAFE', 'READ_ACL_UNSAFE', 'digest_acl', 'world_acl',
    'parse_acl',
    'CancelWatch', 'LinkLoop', 'FailedConnect', 'BadPropertyLink',
    'RegisteringServer', 'event',
]
