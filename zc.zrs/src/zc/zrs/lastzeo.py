"""last-zeo-transaction: print when each ZEO server last committed."""
import argparse
import datetime
import sys

from zc.zrs import ruok


def main(args=None):
    parser = argparse.ArgumentParser(
        prog='last-zeo-transaction',
        description='Print the time of the last transaction of every '
                    'storage of each ZEO server (host:port, [v6]:port or a '
                    'unix socket path).',
        epilog='Exit status: 0 when every server answered, 2 otherwise '
               '(or for bad arguments).')
    parser.add_argument('address', nargs='+', type=ruok.address_argument)
    options = parser.parse_args(args)
    status = 0
    for address in options.address:
        try:
            times = ruok.last_transaction_times(address)
        except OSError as exc:
            print(f"Can't connect to {address}: {exc}", file=sys.stderr)
            status = 2
            continue
        for storage_id, seconds in sorted(times.items()):
            when = ('empty' if seconds is None else
                    datetime.datetime.fromtimestamp(
                        seconds, datetime.timezone.utc).isoformat(' '))
            print(f'{address} {storage_id} {when}')
    return status


if __name__ == '__main__':
    sys.exit(main())
