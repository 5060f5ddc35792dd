"""Release checks for ``release.yml``: the pushed tag must be ``v<reconciler.__version__>``, and
after publishing, the major tag (``v1`` for ``v1.4.2``) moves to the released commit so that
``uses: foundry-routines/reconciler@v1`` gets it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.ci import CIError
from reconciler.ci.github import GitHub, GitHubError

_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
_MAJOR = re.compile(r"^v\d+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Release:
    tag: str
    version: str
    major: str


def check_tag(tag: str, version: str) -> Release:
    """The release of ``tag``, which must be ``v`` + ``version`` (``vMAJOR.MINOR.PATCH``)."""
    name = tag.removeprefix("refs/tags/")
    match = _TAG.match(name)
    if match is None:
        raise CIError(f"tag {name!r} is not a release tag vMAJOR.MINOR.PATCH")
    if name != f"v{version}":
        raise CIError(
            f"tag {name} does not match reconciler.__version__ {version!r}: tag v{version}, "
            "or bump __version__ in reconciler/__init__.py first"
        )
    return Release(name, version, f"v{match.group(1)}")


def move_tag(gh: GitHub, repo: str, tag: str, sha: str) -> str:
    """Point the lightweight tag ``tag`` at commit ``sha`` (create it when missing);
    ``created`` or ``moved``."""
    if not _MAJOR.match(tag):
        raise CIError(f"{tag!r} is not a major tag (v1, v2, ...)")
    if not _SHA.match(sha):
        raise CIError(f"{sha!r} is not a full commit SHA")
    try:
        gh.request("PATCH", f"/repos/{repo}/git/refs/tags/{tag}", {"sha": sha, "force": True})
    except GitHubError as err:
        if err.status not in (404, 422):
            raise
        gh.request("POST", f"/repos/{repo}/git/refs", {"ref": f"refs/tags/{tag}", "sha": sha})
        return "created"
    return "moved"
