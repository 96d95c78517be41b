"""The viewer of a question and what that viewer may see.

Rules (PRODUCT.md, "Roles"):
- provider (one organisation): its own organisation by name, national and its own VSV; every other
  organisation only under a stable pseudonym, never its code or name. Its VSV's figure is withheld where the VSV
  minus the provider's own would be one other organisation's (complementary suppression, `complementary_basis`).
- vsv (one VSV): the VSV and its member organisations by name; other organisations anonymised.
- researcher: national figures and anonymised organisation rows; a researcher granted an organisation also sees
  that organisation by name (`org_code`), still no other and not its VSV.
- admin: everything by name.
How precisely each figure is shown (exact, perturbed, as a peer) is `treatment`, applied by queries.disclosure.
The engine applies these rules to every answer it returns; callers cannot ask for more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from queries.disclosure import Treatment, answer_pseudonym

ROLES = ("provider", "vsv", "researcher", "admin")
PSEUDONYM_PREFIX = {"practice": "P", "hospital": "H", "vsv": "V"}
# A provider's VSV figure is shown only when, of each type, none or at least this many other organisations belong
# to the VSV (`Scope.vsv_withheld`).
COMPLEMENTARY_MIN_OTHERS = 2


class NotPermittedError(PermissionError):
    """The viewer asked about an organisation it may not see by name."""


@dataclass(frozen=True)
class Viewer:
    """Who asks. `org_code` for a provider (and for a researcher granted one organisation), `vsv_code` for a VSV
    user; neither for admin."""

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


class Scope:
    """A viewer's visibility over one register of organisations (code → {name, org_type, vsv_code})."""

    def __init__(self, viewer: Viewer, organisations: dict[str, dict], pseudonym_key: str) -> None:
        self.viewer = viewer
        self.organisations = organisations
        self.pseudonym_key = pseudonym_key
        own = organisations.get(viewer.org_code or "", {})
        # A researcher granted an organisation does not see its VSV (docs/security.md).
        self.own_vsv_code = viewer.vsv_code or (own.get("vsv_code") if viewer.role == "provider" else None)

    def is_own(self, org_code: str) -> bool:
        if self.viewer.role == "provider":
            return org_code == self.viewer.org_code
        if self.viewer.role == "vsv":
            return org_code == self.viewer.vsv_code
        return False

    def treatment(self, org_code: str | None, level: str | None) -> Treatment:
        """How a figure of `org_code` (None: national or all organisations of a type) is shown to the viewer:
        exact for its own figures (a provider's or a granted researcher's organisation; a VSV user's VSV and
        members; everything for admin), perturbed for a named figure that is not its own, peer for the rest."""
        if org_code is None or level is None:
            return "exact" if self.viewer.role == "admin" else "perturbed"
        if not self.may_name(org_code, level):
            return "peer"
        if self.viewer.role in ("provider", "researcher") and org_code != self.viewer.org_code:
            return "perturbed"  # a provider's VSV
        return "exact"

    def vsv_withheld(self, vsv_code: str | None) -> bool:
        """Whether the viewer's VSV figure is withheld: for a provider whose VSV has exactly one other
        organisation of some type (one other hospital, or the VSV's only hospital for a practice, or its only
        other practice), a filter that keeps that type's births (place of birth, care level, gestational age)
        would make the VSV minus the provider's own figures that one organisation's. With none of a type there
        is nothing of it to reveal; with two or more the remainder is an aggregate. The rule looks at the
        register, not at the births of a question, so no choice of filter or period can open it up
        (docs/privacy.md)."""
        if self.viewer.role != "provider" or vsv_code is None or vsv_code != self.own_vsv_code:
            return False
        return self._own_vsv_withheld

    @cached_property
    def _own_vsv_withheld(self) -> bool:
        """`vsv_withheld` for the provider's own VSV, read from the register once per scope (every row of every
        answer asks)."""
        others = Counter(info.get("org_type") for code, info in self.organisations.items()
                         if info.get("vsv_code") == self.own_vsv_code and code != self.viewer.org_code
                         and info.get("org_type") != "vsv")
        return any(0 < count < COMPLEMENTARY_MIN_OTHERS for count in others.values())

    @property
    def exact_vsvs(self) -> int:
        """How many VSVs' births the viewer may know (queries.disclosure.national_withheld): one, its own VSV or
        the VSV of its own organisation, whose births it partly sees exactly; none for a researcher without a grant;
        every one for admin."""
        if self.viewer.role == "admin":
            return len(self.organisations)
        return 1 if self.viewer.org_code or self.viewer.vsv_code else 0

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
        if role == "researcher":
            return org_code == self.viewer.org_code
        return False

    def require_named(self, org_code: str, level: str) -> None:
        """Raise NotPermittedError unless the viewer may see this organisation's own figures."""
        if not self.may_name(org_code, level):
            raise NotPermittedError(f"viewer {self.viewer.role} may not see organisation {org_code!r} by name")

    def identity(self, org_code: str, level: str, answer: str) -> dict:
        """The identifying fields of a row: code and name when allowed, else only a pseudonym that holds for this
        one `answer` (queries.disclosure.answer_pseudonym)."""
        if self.may_name(org_code, level):
            name = self.organisations.get(org_code, {}).get("name") or org_code
            return {"org_code": org_code, "label": name, "named": True, "own": self.is_own(org_code)}
        label = answer_pseudonym(org_code, level, answer, self.pseudonym_key, PSEUDONYM_PREFIX[level])
        return {"org_code": None, "label": label, "named": False, "own": False}
