"""Throw-away certificates for the TLS tests, made at test time with the
openssl command line tool (nothing secret is committed)."""
import os
import subprocess

from zc.zrs.tests.support import TIMEOUT


def _openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True,
                   capture_output=True, timeout=TIMEOUT)


def make_ca(directory, name):
    """A CA certificate ``<name>.pem`` and key ``<name>.key``."""
    _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
             '-subj', f'/CN={name}', '-keyout', f'{name}.key',
             '-out', f'{name}.pem',
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
             cwd=directory)
    return os.path.join(directory, f'{name}.pem')


def make_certificate(directory, name, ca):
    """``<name>.pem`` / ``<name>.key`` signed by CA ``ca``, valid for
    127.0.0.1 and localhost, for servers and clients."""
    with open(os.path.join(directory, f'{name}.ext'), 'w') as f:
        f.write('basicConstraints=critical,CA:FALSE\n'
                'keyUsage=critical,digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth,clientAuth\n'
                'subjectAltName=IP:127.0.0.1,DNS:localhost\n'
                'subjectKeyIdentifier=hash\n'
                'authorityKeyIdentifier=keyid\n')
    _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', f'/CN={name}',
             '-keyout', f'{name}.key', '-out', f'{name}.csr', cwd=directory)
    _openssl('x509', '-req', '-in', f'{name}.csr', '-CA', f'{ca}.pem',
             '-CAkey', f'{ca}.key', '-CAcreateserial', '-days', '2',
             '-extfile', f'{name}.ext', '-out', f'{name}.pem', cwd=directory)
    return (os.path.join(directory, f'{name}.pem'),
            os.path.join(directory, f'{name}.key'))


def make_all(directory):
    """The trusted CA, a primary and a secondary it signed, and an
    intruder signed by another CA."""
    make_ca(directory, 'ca')
    make_ca(directory, 'other-ca')
    for name in ('primary', 'secondary'):
        make_certificate(directory, name, 'ca')
    make_certificate(directory, 'intruder', 'other-ca')
