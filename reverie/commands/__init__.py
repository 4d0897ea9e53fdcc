"""Command modules beyond the core ones in ``cli.py``: each registers its own subcommands.

A module here defines ``register(sub, db_option)``: ``sub`` is the ``argparse`` subparsers
object and ``db_option(parser)`` adds the shared ``--db``/``--embedder`` options. Like
``cli.py``, a module imports heavy things only inside its command functions, so that
``reverie --help`` stays fast.
"""

from __future__ import annotations

MODULES = ("casework", "keys", "access", "records", "export", "web")
