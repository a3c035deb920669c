"""Assignment targets given as organizational units or the whole organization, resolved
through AWS Organizations at every run: ACTIVE accounts only, the management account only
when listed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .aws import Clients
from .config import AssignmentSpec, Config


@dataclass
class Resolution:
    accounts: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (account id, why)

    def describe(self, spec: AssignmentSpec) -> str:
        where = ", ".join(spec.organizational_units) + (" (recursive)" if spec.recursive else " (one level)")
        source = "all accounts" if spec.all_accounts else where
        text = f"{spec.permission_set}: {source} -> {len(self.accounts)} account(s): {', '.join(self.accounts)}"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{a} ({why})" for a, why in self.skipped)
        return text


class OrganizationTargets:
    """Reads Organizations once per run (each listing cached) and resolves target specs."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._accounts: dict[str, dict[str, Any]] | None = None
        self._children: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._management: str | None = None

    def _org(self) -> Any:
        return self.clients.organizations

    def management_account(self) -> str:
        if self._management is None:
            self._management = str(
                self._org().call(lambda c: c.describe_organization())["Organization"]["MasterAccountId"]
            )
        return self._management

    def accounts(self) -> dict[str, dict[str, Any]]:
        if self._accounts is None:
            self._accounts = {
                a["Id"]: a for a in self._org().pages(lambda c, more: c.list_accounts(**more), "Accounts")
            }
        return self._accounts

    def _list(self, kind: str, parent: str) -> list[dict[str, Any]]:
        key = (kind, parent)
        if key not in self._children:
            if kind == "accounts":
                items = self._org().pages(
                    lambda c, more: c.list_accounts_for_parent(ParentId=parent, **more), "Accounts"
                )
            else:
                items = self._org().pages(
                    lambda c, more: c.list_organizational_units_for_parent(ParentId=parent, **more),
                    "OrganizationalUnits",
                )
            self._children[key] = list(items)
        return self._children[key]

    def under(self, parent: str, recursive: bool) -> list[dict[str, Any]]:
        found = list(self._list("accounts", parent))
        if recursive:
            for ou in self._list("ous", parent):
                found += self.under(ou["Id"], recursive)
        return found

    def resolve(self, spec: AssignmentSpec, current: str) -> Resolution:
        explicit = [current if a == "current" else a for a in spec.accounts]
        candidates: list[dict[str, Any]] = []
        if spec.all_accounts:
            candidates = list(self.accounts().values())
        for ou in spec.organizational_units:
            candidates += self.under(ou, spec.recursive)
        management = self.management_account()
        accounts, skipped = list(explicit), []
        for account in candidates:
            account_id = account["Id"]
            status = account.get("State") or account.get("Status") or "ACTIVE"
            if account_id in accounts:
                continue
            if account_id in spec.exclude_accounts:
                skipped.append((account_id, "excluded"))
            elif status != "ACTIVE":
                skipped.append((account_id, status))
            elif account_id == management:
                skipped.append((account_id, "management account: list it under accounts to include it"))
            else:
                accounts.append(account_id)
        return Resolution(accounts, sorted(set(skipped)))


def resolve_all(clients: Clients, config: Config, current: str) -> dict[int, Resolution]:
    """Resolutions of the assignments that target OUs or the organization, by index."""
    if not any(spec.targets_organization for spec in config.assignments):
        return {}
    targets = OrganizationTargets(clients)
    return {i: targets.resolve(spec, current) for i, spec in enumerate(config.assignments) if spec.targets_organization}
