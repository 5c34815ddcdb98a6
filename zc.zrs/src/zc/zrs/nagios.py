"""zrs-nagios: a Nagios check of how far a secondary is behind its primary.

Both arguments are ZEO server addresses; the check compares, per storage
id, the times of the last transactions the two servers report.
"""
import argparse
import sys

from zc.zrs import ruok

OK, WARNING, ERROR, UNKNOWN = 0, 1, 2, 3


def _parser():
    parser = argparse.ArgumentParser(
        prog='zrs-nagios',
        description='Check how far a ZRS secondary lags behind its primary '
                    '(both given as ZEO server addresses: host:port, '
                    '[v6]:port or a unix socket path). Give at least one '
                    'of -m, -w and -e.',
        epilog='Exit status: 0 OK, 1 warning, 2 critical (behind by more '
               'than -e, a server cannot be reached, the primary is behind '
               'the secondary, or bad arguments), 3 unknown (a server '
               'answered, but not as a ZEO server).')
    parser.add_argument('-m', '--output-metrics', action='store_true',
                        help='append the lag as Nagios performance data')
    parser.add_argument('-w', '--warning', type=float, metavar='SECS',
                        help='warn when the secondary is more than SECS '
                             'seconds behind')
    parser.add_argument('-e', '--error', type=float, metavar='SECS',
                        help='fail when the secondary is more than SECS '
                             'seconds behind')
    parser.add_argument('primary', type=ruok.address_argument)
    parser.add_argument('secondary', type=ruok.address_argument)
    return parser


def _suffix(storage_id):
    return '' if storage_id == '1' else f' for storage {storage_id!r}'


def check(options):
    """``(exit status, output lines)``."""
    times = {}
    for role in ('primary', 'secondary'):
        address = getattr(options, role)
        try:
            times[role] = ruok.last_transaction_times(address)
        except ruok.UnexpectedAnswer as exc:
            return UNKNOWN, [f'The {role} at {address} is not a ZEO '
                             f'server: {exc}']
        except OSError as exc:
            return ERROR, [f"Can't connect to {role} at {address}: {exc}"]
    primary, secondary = times['primary'], times['secondary']
    level = OK
    messages = []
    metrics = []
    for storage_id in sorted(set(primary) | set(secondary)):
        if storage_id not in secondary:
            messages.append(f'Storage {storage_id!r} in primary, '
                            'but not secondary')
            level = ERROR
            continue
        if storage_id not in primary:
            messages.append(f'Storage {storage_id!r} in secondary, '
                            'but not primary')
            level = ERROR
            continue
        lag = (primary[storage_id] or 0.0) - (secondary[storage_id] or 0.0)
        suffix = _suffix(storage_id)
        if options.output_metrics:
            name = 'lag' if storage_id == '1' else f'lag{storage_id}'
            metrics.append(f"'{name}'={lag:.4f}seconds")
        if lag < 0:
            messages.append(f'Primary behind secondary by {-lag:.4f} '
                            f'seconds{suffix}')
            level = ERROR
        elif lag == 0:
            messages.append(f'Secondary up to date.{suffix}')
        else:
            message = f'Secondary behind primary by {lag:.4f} seconds'
            if options.error is not None and lag > options.error:
                message += f' > {options.error:g}'
                level = ERROR
            elif options.warning is not None and lag > options.warning:
                message += f' > {options.warning:g}'
                level = max(level, WARNING)
            messages.append(message + suffix)
    if metrics:
        messages[0] += '|' + ' '.join(metrics)
    return level, messages


def main(args=None):
    parser = _parser()
    options = parser.parse_args(args)
    if not (options.output_metrics or options.warning is not None
            or options.error is not None):
        parser.print_usage(sys.stderr)
        print('zrs-nagios: error: give at least one of -m, -w or -e',
              file=sys.stderr)
        return ERROR
    level, messages = check(options)
    print('\n'.join(messages))
    return level


if __name__ == '__main__':
    sys.exit(main())
