"""ZODB replicated storage: a primary streams every committed transaction
to read-only secondaries (see README.rst)."""


def Primary(*args, **kw):
    """A storage that replicates to secondaries: zc.zrs.primary.Primary."""
    from zc.zrs.primary import Primary
    return Primary(*args, **kw)


def Secondary(*args, **kw):
    """A read-only storage replicated from a primary:
    zc.zrs.secondary.Secondary."""
    from zc.zrs.secondary import Secondary
    return Secondary(*args, **kw)
