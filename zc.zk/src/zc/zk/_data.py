"""How properties are stored in a node: a JSON object, or a raw string.

A node holding anything other than a JSON object (written by another tool,
or by hand with ``zkCli``) still reads as a mapping: its raw text appears as
the ``string_value`` property, and writing that mapping back stores the raw
text again, so such nodes survive a round trip through zc.zk unchanged.
"""
import json
import logging

logger = logging.getLogger(__name__)

STRING_VALUE = 'string_value'

# One encoder for every node (json.dumps with separators makes a new one
# per call, a third of the time of encoding a small mapping).
_ENCODER = json.JSONEncoder(separators=(',', ':'))


def encode(properties):
    """The bytes stored for a mapping of properties."""
    if len(properties) == 1 and STRING_VALUE in properties:
        return str(properties[STRING_VALUE]).encode('utf-8', 'surrogateescape')
    return _ENCODER.encode(dict(properties)).encode()


def decode(data, path=None):
    """The properties held by a node's ``data`` (bytes or str).

    ``path`` only names the node in the warning logged for malformed JSON.
    """
    if isinstance(data, bytes):
        data = data.decode('utf-8', 'surrogateescape')
    if not data:
        return {}
    if data.lstrip().startswith('{'):
        try:
            properties = json.loads(data)
        except ValueError as error:
            logger.warning('bad JSON data in %s (%s); treated as a string',
                           path or 'a node', error)
        else:
            if isinstance(properties, dict):
                return properties
    return {STRING_VALUE: data}
