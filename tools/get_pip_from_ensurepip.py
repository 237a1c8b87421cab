"""Offline stand-in for ansible-test's ``get-pip-<version>.py`` bootstrap script.

ansible-test creates every virtual environment without pip and then runs a ``get-pip`` script that
it downloads from a host this CI cannot reach. ``tools/run_tests.py`` copies this file to
``~/.ansible/test/cache/get_pip_<version>.py``, where ansible-test looks first. It runs the pip
wheel bundled with the interpreter's own ``ensurepip`` straight from the wheel file and lets it
install the pip version ansible-test asked for from the package index.

hashfarm.whatsminer marker: this file was written by tools/run_tests.py.
"""

from __future__ import annotations

import glob
import os
import sys

# Options that get-pip.py understands but "pip install" does not.
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def bundled_pip_wheel() -> str:
    """Return the path of the pip wheel that ships with this interpreter's ensurepip."""
    import ensurepip  # pylint: disable=import-outside-toplevel

    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    if not wheels:
        sys.exit(f"no pip wheel bundled with ensurepip in {bundled}")
    return wheels[-1]


def main() -> None:
    """Install the requested pip into the running interpreter."""
    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
    sys.path.insert(0, bundled_pip_wheel())
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel,import-error

    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + arguments))


if __name__ == "__main__":
    main()
