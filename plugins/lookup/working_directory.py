# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup working_directory: the controller's real working directory."""

from __future__ import annotations

DOCUMENTATION = r"""
name: working_directory
author: hashfarm maintainers (@hashfarm)
version_added: 0.1.0
short_description: The directory ansible-playbook runs in, as the operating system knows it
description:
  - Returns the working directory of the controller's process (C(os.getcwd())), the directory
    ansible-playbook was started in. Unlike the environment variable E(PWD), which a shell sets
    and which may be missing or stale (a process started by another program, C(env -u PWD), a
    C(cd) that the parent process made), it is always the real one.
  - C(hashfarm.whatsminer.facts) writes its report relative to it.
options: {}
"""

EXAMPLES = r"""
- name: Where a relative path of the run lands
  ansible.builtin.debug:
    msg: "{{ [lookup('hashfarm.whatsminer.working_directory'), 'whatsminer-report'] | path_join }}"
"""

RETURN = r"""
_raw:
  description: The absolute path of the working directory, as one element.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    """The controller's working directory."""

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("working_directory takes no terms")
        try:
            return [os.getcwd()]
        except OSError as error:
            raise AnsibleLookupError(
                f"the working directory of ansible-playbook is gone ({error}): run it from an existing directory, "
                "or give an absolute whatsminer_report_dir"
            ) from error
