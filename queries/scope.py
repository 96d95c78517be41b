"""The viewer of a question and what that viewer may see.

Rules (PRODUCT.md, "Roles"):
- provider (one organisation): its own organisation by name, national and its own VSV; every other
  organisation only under a stable pseudonym, never its code or name. Its VSV's figure is withheld where the VSV
  minus the provider's own would be one other organisation's (complementary suppression, `complementary_basis`).
- vsv (one VSV): the VSV and its member organisations by name; other organisations anonymised.
- researcher: national figures and anonymised organisation rows.
- admin: everything by name.
The engine applies these rules to every answer it returns; callers cannot ask for more.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

ROLES = ("provider", "vsv", "researcher", "admin")
PSEUDONYM_PREFIX = {"practice": "P", "hospital": "H", "vsv": "V"}


class NotPermittedError(PermissionError):
    """The viewer asked about an organisation it may not see by name."""


@dataclass(frozen=True)
class Viewer:
    """Who asks. `org_code` for a provider, `vsv_code` for a VSV user; neither for researcher/admin."""

    role: str
    org_code: str | None = None
    vsv_code: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; allowed: {', '.join(ROLES)}")
        if self.role == "provider" and not self.org_code:
            raise ValueError("a provider viewer needs org_code")
        if self.role == "vsv" and not self.vsv_code:
            raise ValueError("a vsv viewer needs vsv_code")

    def as_dict(self) -> dict:
        return {"role": self.role, "org_code": self.org_code, "vsv_code": self.vsv_code}


def pseudonym(org_code: str, level: str, key: str) -> str:
    """A stable anonymous label for an organisation, e.g. `H-3F9C1A07`: an HMAC of the code under a
    secret key, so the same peer keeps its label across pages and versions but cannot be traced back."""
    digest = hmac.new(key.encode(), f"{level}:{org_code}".encode(), hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX[level]}-{digest[:8].upper()}"


class Scope:
    """A viewer's visibility over one register of organisations (code → {name, org_type, vsv_code})."""

    def __init__(self, viewer: Viewer, organisations: dict[str, dict], pseudonym_key: str) -> None:
        self.viewer = viewer
        self.organisations = organisations
        self.pseudonym_key = pseudonym_key
        own = organisations.get(viewer.org_code or "", {})
        self.own_vsv_code = viewer.vsv_code or own.get("vsv_code")

    def is_own(self, org_code: str) -> bool:
        if self.viewer.role == "provider":
            return org_code == self.viewer.org_code
        if self.viewer.role == "vsv":
            return org_code == self.viewer.vsv_code
        return False

    def may_name(self, org_code: str, level: str) -> bool:
        """Whether `org_code` (an organisation of `level`) may be shown with its code and name."""
        role = self.viewer.role
        if role == "admin":
            return True
        if role == "provider":
            return org_code == self.viewer.org_code or (level == "vsv" and org_code == self.own_vsv_code)
        if role == "vsv":
            if level == "vsv":
                return org_code == self.viewer.vsv_code
            return self.organisations.get(org_code, {}).get("vsv_code") == self.viewer.vsv_code
        return False

    def complementary_basis(self) -> tuple[str, str, str] | None:
        """(VSV code, own org_code, own level) when the viewer sees its VSV by name beside its own organisation
        but not the VSV's other members (a provider): the VSV's figures minus its own would be those of the
        remaining members, so the engine must not show a VSV figure whose remainder is a single organisation
        (complementary suppression). None for everyone else: a VSV user and an admin see the members by name,
        a researcher sees no VSV by name."""
        org_code = self.viewer.org_code  # a provider always has one (Viewer.__post_init__)
        if self.viewer.role != "provider" or not org_code or not self.own_vsv_code:
            return None
        level = self.organisations.get(org_code, {}).get("org_type")
        if level not in PSEUDONYM_PREFIX or level == "vsv":
            return None
        return self.own_vsv_code, org_code, level

    def require_named(self, org_code: str, level: str) -> None:
        """Raise NotPermittedError unless the viewer may see this organisation's own figures."""
        if not self.may_name(org_code, level):
            raise NotPermittedError(f"viewer {self.viewer.role} may not see organisation {org_code!r} by name")

    def identity(self, org_code: str, level: str) -> dict:
        """The identifying fields of a row: code and name when allowed, else only a pseudonym."""
        if self.may_name(org_code, level):
            name = self.organisations.get(org_code, {}).get("name") or org_code
            return {"org_code": org_code, "label": name, "named": True, "own": self.is_own(org_code)}
        return {"org_code": None, "label": pseudonym(org_code, level, self.pseudonym_key), "named": False,
                "own": False}
