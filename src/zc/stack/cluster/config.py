"""The cluster configuration: a ZConfig file, overridden by the command
line.

Several machines share one cluster by running ``zc-stack up --config FILE
--only ROLE[,ROLE]`` with the same file: it names the ZooKeeper ensemble,
the cluster's path in it, the database and how many of each role run::

    zookeeper 10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181
    path /zc-stack
    database main
    secondaries 1
    synchronous 1
    synchronous-fallback async
    apps 2
    front-port 8080
    host 127.0.0.1

The database runs as ``secondaries + 1`` high-availability nodes that
elect their primary among themselves: the ``primary`` role starts the
first node, ``zeo-1``, and the ``secondary`` role the others, ``zeo-2``
and on (which of them serves as primary is the election's business, not
the role's).
"""
import dataclasses
import io
import re

import ZConfig

ROLES = ('zookeeper', 'primary', 'secondary', 'app', 'front')
FALLBACKS = ('async', 'fail')

SCHEMA = """\
<schema>
  <description>The cluster that zc-stack up runs.</description>
  <key name="zookeeper" required="no">
    <description>
      The ZooKeeper connection string (HOST:PORT,...) of an existing
      ensemble. Absent: zc-stack runs a ZooKeeper of its own.
    </description>
  </key>
  <key name="path" default="/zc-stack">
    <description>Where the cluster registers in ZooKeeper.</description>
  </key>
  <key name="database" default="main">
    <description>The database's name, part of its ZooKeeper path.</description>
  </key>
  <key name="host" default="127.0.0.1">
    <description>The address this machine's services listen on.</description>
  </key>
  <key name="secondaries" datatype="integer" default="1">
    <description>
      How many read-only ZEO secondaries run beside the primary: the
      database runs as secondaries + 1 nodes, which elect the primary.
    </description>
  </key>
  <key name="synchronous" datatype="integer">
    <description>
      How many secondaries must have a transaction on disk before its
      commit succeeds (0: asynchronous replication; default 1, or 0
      without secondaries).
    </description>
  </key>
  <key name="synchronous-fallback" default="async">
    <description>
      When fewer secondaries than synchronous are in sync: "async" commits
      anyway (and logs it), "fail" refuses commits until they are back.
    </description>
  </key>
  <key name="apps" datatype="integer" default="2">
    <description>How many web app servers run.</description>
  </key>
  <key name="front-port" datatype="port-number" default="8080">
    <description>The front door's (HAProxy's) port.</description>
  </key>

</schema>
"""

_CONNECTION = re.compile(r'^[\w.\-\[\]:]+:\d+(,[\w.\-\[\]:]+:\d+)*$')


class ConfigError(ValueError):
    """A bad configuration file or option (the message is one line)."""


@dataclasses.dataclass
class Settings:
    """What ``up`` runs: see the schema above."""
    zookeeper: str = None
    path: str = '/zc-stack'
    database: str = 'main'
    host: str = '127.0.0.1'
    secondaries: int = 1
    synchronous: int = None
    synchronous_fallback: str = 'async'
    apps: int = 2
    front_port: int = 8080

    def validate(self):
        if self.zookeeper is not None and not _CONNECTION.match(
                self.zookeeper):
            raise ConfigError(f'bad ZooKeeper connection string'
                              f' {self.zookeeper!r}: expected'
                              ' HOST:PORT[,HOST:PORT...]')
        if not self.path.startswith('/') or self.path.rstrip('/') == '':
            raise ConfigError(f'path must be a ZooKeeper path below /,'
                              f' not {self.path!r}')
        if not re.match(r'^[\w.\-]+$', self.database):
            raise ConfigError(f'bad database name {self.database!r}:'
                              ' use letters, digits, ".", "-" and "_"')
        if self.secondaries < 0:
            raise ConfigError('secondaries must be 0 or more')
        if self.synchronous is None:
            self.synchronous = min(1, self.secondaries)
        if not 0 <= self.synchronous <= self.secondaries:
            raise ConfigError(f'synchronous must be between 0 and'
                              f' secondaries ({self.secondaries}), not'
                              f' {self.synchronous}')
        if self.synchronous_fallback not in FALLBACKS:
            raise ConfigError(f'synchronous-fallback must be'
                              f' {" or ".join(FALLBACKS)}, not'
                              f' {self.synchronous_fallback!r}')
        if self.apps < 1:
            raise ConfigError('apps must be 1 or more')
        if not 0 < self.front_port < 65536:
            raise ConfigError(f'front-port {self.front_port} is not a port')
        return self


def load(path):
    """The settings in the ZConfig file at ``path``."""
    schema = ZConfig.loadSchemaFile(io.StringIO(SCHEMA))
    try:
        with open(path) as f:
            config, _ = ZConfig.loadConfigFile(schema, f)
    except ZConfig.ConfigurationError as error:
        raise ConfigError(f'{path}: {" ".join(str(error).split())}') \
            from None
    except OSError as error:
        raise ConfigError(f'cannot read {path}: {error.strerror}') from None
    return Settings(**{field.name: getattr(config, field.name)
                       for field in dataclasses.fields(Settings)}).validate()


def parse_roles(text):
    """``--only``'s ``ROLE[,ROLE]``, in start order."""
    roles = {role.strip() for role in text.split(',') if role.strip()}
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        raise ConfigError(f'unknown role {", ".join(unknown) or text!r}:'
                          f' choose among {", ".join(ROLES)}')
    return [role for role in ROLES if role in roles]
