"""ACLs for nodes, so a cluster need not be world-writable.

ACL specifications as the console scripts take them:

- ``world:anyone:PERMS``
- ``digest:USER:PASSWORD:PERMS`` (the password is hashed here, as
  ZooKeeper's digest scheme expects)
- ``ip:ADDRESS:PERMS``

``PERMS`` is any of the letters ``rwcda`` (read, write, create, delete,
admin) or ``all``.
"""
from kazoo.security import ACL, Id, Permissions, make_digest_acl

_LETTERS = {'r': Permissions.READ, 'w': Permissions.WRITE,
            'c': Permissions.CREATE, 'd': Permissions.DELETE,
            'a': Permissions.ADMIN}


def check_permissions(perms):
    """``perms`` if they are valid permission bits, else ValueError."""
    if not 0 <= perms <= Permissions.ALL:
        raise ValueError(f'Bad permissions {perms!r}: need 0-'
                         f'{Permissions.ALL}, the sum of read 1, write 2,'
                         ' create 4, delete 8 and admin 16')
    return perms


def parse_permissions(text):
    """``'rw'``, ``'all'`` or a number as kazoo permission bits."""
    if text.isdigit():
        return check_permissions(int(text))
    if text == 'all':
        return Permissions.ALL
    perms = 0
    for letter in text:
        if letter not in _LETTERS:
            raise ValueError(f'Bad permissions {text!r}: use letters from'
                             ' rwcda, or all')
        perms |= _LETTERS[letter]
    return perms


def world_acl(perms=Permissions.ALL):
    """Anyone may do ``perms``."""
    return [ACL(check_permissions(perms), Id('world', 'anyone'))]


def digest_acl(user, password, perms=Permissions.ALL):
    """Only ``user`` (authenticated with ``password``) may do ``perms``."""
    check_permissions(perms)
    return [make_digest_acl(user, password, all=perms == Permissions.ALL,
                            read=bool(perms & Permissions.READ),
                            write=bool(perms & Permissions.WRITE),
                            create=bool(perms & Permissions.CREATE),
                            delete=bool(perms & Permissions.DELETE),
                            admin=bool(perms & Permissions.ADMIN))]


def parse_acl(spec):
    """One ACL entry (a list of one ``ACL``) from its text (see above)."""
    scheme, _, rest = spec.partition(':')
    ident, _, perms = rest.rpartition(':')
    if not ident or not perms:
        raise ValueError(f'Bad ACL {spec!r}: need SCHEME:ID:PERMS')
    perms = parse_permissions(perms)
    if scheme == 'digest':
        user, sep, password = ident.partition(':')
        if not sep:
            raise ValueError(f'Bad ACL {spec!r}: need digest:USER:PASSWORD'
                             ':PERMS')
        return digest_acl(user, password, perms)
    if scheme in ('world', 'ip', 'auth'):
        return [ACL(perms, Id(scheme, ident))]
    raise ValueError(f'Bad ACL {spec!r}: unknown scheme {scheme!r}')
