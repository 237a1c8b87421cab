#!/usr/bin/env python
# Copyright: (c) 2026, hashfarm maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ansible-playbook lines of the example CI pipelines, so that the tests run exactly those.

    ci_commands.py DOCS_CI_DIR JOB     prints the ansible-playbook lines of JOB (check or apply), one a line

Fails when docs/ci/gitlab-ci.yml and docs/ci/github-actions.yml do not run the same lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

JOBS = ("check", "apply")


def playbook_lines(text: str) -> list[str]:
    """The lines of a script that run ansible-playbook."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("ansible-playbook ")]


def gitlab_jobs(path: Path) -> dict[str, list[str]]:
    """ansible-playbook lines of each GitLab job."""
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {job: playbook_lines("\n".join(pipeline[job]["script"])) for job in JOBS}


def github_jobs(path: Path) -> dict[str, list[str]]:
    """ansible-playbook lines of each GitHub Actions job."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        job: playbook_lines("\n".join(step.get("run", "") for step in workflow["jobs"][job]["steps"]))
        for job in JOBS
    }


def main() -> int:
    """Print one job's lines after checking that both pipelines agree."""
    ci_dir, job = Path(sys.argv[1]), sys.argv[2]
    gitlab = gitlab_jobs(ci_dir / "gitlab-ci.yml")
    github = github_jobs(ci_dir / "github-actions.yml")
    if gitlab != github:
        print(f"the pipelines differ:\n  gitlab-ci.yml:       {gitlab}\n  github-actions.yml:  {github}", file=sys.stderr)
        return 1
    if not gitlab[job]:
        print(f"job {job} runs no ansible-playbook line", file=sys.stderr)
        return 1
    print("\n".join(gitlab[job]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
