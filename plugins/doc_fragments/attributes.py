# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attribute documentation shared by the modules of the collection."""

from __future__ import annotations


class ModuleDocFragment:
    """Attributes: the common set, the action group membership and the facts attributes."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
"""

    ACTIONGROUP_WHATSMINER = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/hashfarm.whatsminer.whatsminer) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - hashfarm.whatsminer.whatsminer
"""

    FACTS = r"""
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
"""

    IDEMPOTENT = r"""
options: {}
attributes:
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled or queried by the module has not changed in a relevant way.
    support: full
"""
