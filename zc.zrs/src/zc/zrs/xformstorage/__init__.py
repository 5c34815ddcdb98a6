"""Storage wrappers that transform record data: a test aid showing that
replication works when such a wrapper (compression, encryption...) sits
above a primary or a secondary. The replicas then hold the transformed
records, byte for byte, and only the wrapper above them decodes.

``XformStorage(base, prefix, transform, untransform)`` stores
``prefix + transform(record)`` and decodes records that carry the prefix;
``HexStorage(base)`` is the one with hex encoding (prefix ``.h``).
``ServerHexStorage`` is for a ZEO server whose clients use HexStorage: it
keeps records encoded and only decodes them to find references (pack).

``%import zc.zrs.xformstorage`` provides the ``<hexstorage>`` and
``<serverhexstorage>`` sections, each around one storage section.
"""
import binascii

import zope.interface

import ZODB.interfaces
import ZODB.serialize
import ZODB.utils


@zope.interface.implementer(ZODB.interfaces.IStorageWrapper)
class XformStorage:

    #: Whether loads and stores go through the transformation (a ZEO
    #: server's wrapper passes the client's encoded records through).
    transforms_records = True

    def __init__(self, base, prefix, transform, untransform):
        self.base = base
        self.prefix = prefix
        self._transform = transform
        self._untransform = untransform
        self.db = None
        zope.interface.directlyProvides(self, zope.interface.providedBy(base))
        base.registerDB(self)

    def __getattr__(self, name):
        if name == 'base':
            raise AttributeError(name)
        return getattr(self.base, name)

    def __len__(self):
        return len(self.base)

    # Record transformation.

    def encode(self, data):
        return data if data is None else self.prefix + self._transform(data)

    def decode(self, data):
        if data is not None and data.startswith(self.prefix):
            return self._untransform(data[len(self.prefix):])
        return data

    def _in(self, data):
        return self.encode(data) if self.transforms_records else data

    def _out(self, data):
        return self.decode(data) if self.transforms_records else data

    load = ZODB.utils.load_current

    def loadBefore(self, oid, tid):
        found = self.base.loadBefore(oid, tid)
        if found is None:
            return None
        data, serial, after = found
        return self._out(data), serial, after

    def loadSerial(self, oid, serial):
        return self._out(self.base.loadSerial(oid, serial))

    def store(self, oid, serial, data, version, transaction):
        return self.base.store(oid, serial, self._in(data), version,
                               transaction)

    def restore(self, oid, serial, data, version, prev_txn, transaction):
        return self.base.restore(oid, serial, self._in(data), version,
                                 prev_txn, transaction)

    def storeBlob(self, oid, serial, data, blobfilename, version,
                  transaction):
        return self.base.storeBlob(oid, serial, self._in(data), blobfilename,
                                   version, transaction)

    def restoreBlob(self, oid, serial, data, blobfilename, prev_txn,
                    transaction):
        return self.base.restoreBlob(oid, serial, self._in(data),
                                     blobfilename, prev_txn, transaction)

    def record_iternext(self, next=None):
        oid, tid, data, next = self.base.record_iternext(next)
        return oid, tid, self._out(data), next

    def pack(self, pack_time, referencesf, gc=True):
        def references(data, oids=None):
            return referencesf(self.decode(data), oids)
        return self.base.pack(pack_time, references, gc)

    # The DB above (IStorageWrapper).

    def registerDB(self, db):
        self.db = db

    def invalidate(self, transaction_id, oids, version=''):
        if self.db is not None:
            self.db.invalidate(transaction_id, oids)

    def invalidateCache(self):
        if self.db is not None:
            self.db.invalidateCache()

    def references(self, record, oids=None):
        return ZODB.serialize.referencesf(self.decode(record), oids)

    def transform_record_data(self, data):
        return self.encode(self._db('transform_record_data', data))

    def untransform_record_data(self, data):
        return self._db('untransform_record_data', self.decode(data))

    def _db(self, name, data):
        method = getattr(self.db, name, None)
        return data if method is None else method(data)


class HexStorage(XformStorage):

    def __init__(self, base):
        super().__init__(base, b'.h', binascii.hexlify, binascii.unhexlify)


class ServerHexStorage(HexStorage):

    transforms_records = False


class ZConfigHex:
    """The <hexstorage> section."""

    factory = HexStorage

    def __init__(self, config):
        self.config = config
        self.name = config.getSectionName()

    def open(self):
        return self.factory(self.config.base.open())


class ZConfigServerHex(ZConfigHex):
    """The <serverhexstorage> section."""

    factory = ServerHexStorage
