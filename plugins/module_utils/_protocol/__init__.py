# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Whatsminer protocols: what goes over the wire, and nothing about what a module wants.

Note that this package is PRIVATE to the collection. It can have breaking changes at any time.

``api2`` (``WhatsminerClient``, TCP 4028) and ``api3`` (``WhatsminerV3Client``, TCP 4433) are the
clients; ``transport`` is the TCP exchange they share, ``parsing`` the tolerant reading of replies,
``crypto`` the tokens and encryption of privileged commands, ``errors`` the typed errors every layer
above catches. Nothing here imports from the rest of ``module_utils``: the session
(``_session.MinerSession``) adapts these clients to the interface the resource logic uses.
"""
