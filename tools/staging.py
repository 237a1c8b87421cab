"""Copy the collection to ``build/collections/ansible_collections/hashfarm/whatsminer``.

ansible-test, ``make demo`` and the benchmarks need the collection in an ``ansible_collections``
tree; the repository root is the collection root, so they work on a copy of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# WHATSMINER_BUILD_DIR lets two runs side by side (e.g. two developers' test runs) use their own copies.
BUILD = Path(os.environ.get("WHATSMINER_BUILD_DIR") or REPO / "build").resolve()
COLLECTION_ROOT = BUILD / "collections"
STAGED = COLLECTION_ROOT / "ansible_collections" / "hashfarm" / "whatsminer"


def collection_files() -> list[str]:
    """Files of the collection: what git tracks plus what it would track (not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, stdout=subprocess.PIPE,
    ).stdout.decode()
    return sorted(name for name in listing.split("\0") if name and (REPO / name).is_file())


def stage_collection() -> Path:
    """Make a fresh copy of the collection; return its path."""
    print(f"==> staging the collection in {STAGED}", flush=True)
    if STAGED.exists():
        shutil.rmtree(STAGED)
    for name in collection_files():
        target = STAGED / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    # The copy lives inside this repository's ignored build/ folder; ansible-test asks git which
    # files a collection has, so give the copy a git repository of its own.
    subprocess.run(["git", "init", "--quiet", str(STAGED)], check=True)
    return STAGED
