"""Where the files shipped with supportbot live (policy.yml, the NLU training data)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# In a checkout (editable install) the files sit at the repository root; a wheel carries
# copies under supportbot/_shipped/.
_CANDIDATES = (_PACKAGE.parent.parent, _PACKAGE / "_shipped")


def shipped_path(name: str) -> Path:
    """Path of a shipped file or folder such as `policy.yml` or `nlu`."""
    for root in _CANDIDATES:
        candidate = root / name
        if candidate.exists():
            return candidate
    return _CANDIDATES[0] / name
