"""Assignment targets given as organizational units (by id or path), the whole organization,
account tags or account name globs, resolved through AWS Organizations at every run: ACTIVE
accounts only, the management account only when listed explicitly. And the state of any
account, read only when a run needs it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from .aws import Clients
from .config import AssignmentSpec, Config
from .context import Context, delegated_administrators
from .errors import ACCESS_CODES, NOT_IN_USE, AwsError

ACTIVE = "ACTIVE"
# ListAccounts answers at most 20 accounts a page: for a few accounts, a DescribeAccount each
# is fewer calls in any organization of more than 20 x DESCRIBE_AT_MOST accounts.
DESCRIBE_AT_MOST = 3


def account_state(account: Mapping[str, Any]) -> str:
    """ACTIVE, SUSPENDED, PENDING_CLOSURE...: `State`, or `Status` from before it was retired."""
    return str(account.get("State") or account.get("Status") or ACTIVE)


class AccountStates:
    """The Organizations state of accounts, read when first asked and once per run.

    Identity Center keeps listing accounts that are SUSPENDED or PENDING_CLOSURE, and
    provisioning to them fails. Without an organization, or without permission to read it,
    every account counts as ACTIVE and `note` says why."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._states: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._listed = False
        self._outside: set[str] = set()  # read, and not in the organization
        self._every: list[dict[str, Any]] | None = None
        self.note: str | None = None
        self.failure: AwsError | None = None  # why Organizations could not be read, if it could not

    def remember(self, accounts: Iterable[Mapping[str, Any]], every_account: bool = False) -> None:
        """Keep the states of accounts an Organizations call returned (`every_account`: all
        of the organization's, so an account not among them is not in it)."""
        for account in accounts:
            self._states[str(account["Id"])] = account_state(account)
            if account.get("Name"):
                self._names[str(account["Id"])] = str(account["Name"])
        self._listed = self._listed or every_account

    def of(self, accounts: Iterable[str]) -> dict[str, str]:
        """Account id -> state; an account the organization does not know counts as ACTIVE."""
        wanted = sorted(set(accounts))
        missing = [a for a in wanted if a not in self._states]
        if missing and not self._listed and self.note is None:
            try:
                self._read(missing)
            except AwsError as exc:
                if exc.code not in ACCESS_CODES | {NOT_IN_USE}:
                    raise
                self.failure = exc
                fix = "" if exc.code == NOT_IN_USE else "; allow organizations:DescribeAccount and ListAccounts"
                self.note = (
                    f"account states could not be read from AWS Organizations ({exc.code} on {exc.operation}): "
                    f"every account is treated as ACTIVE{fix}"
                )
        return {a: self._states.get(a, ACTIVE) for a in wanted}

    def names(self, accounts: Iterable[str]) -> dict[str, str]:
        """Account id -> name in the organization, for the accounts it knows (read as states are)."""
        wanted = sorted(set(accounts))
        self.of(wanted)
        return {a: self._names[a] for a in wanted if a in self._names}

    def outside(self, accounts: Iterable[str]) -> list[str]:
        """The accounts among these that the organization's accounts were read for and that are
        not in it (none when the organization could not be read)."""
        wanted = sorted(set(accounts))
        self.of(wanted)
        return [a for a in wanted if a in self._outside or (self._listed and a not in self._states)]

    @property
    def standalone(self) -> bool:
        """Whether Organizations answered that the caller's account is in no organization."""
        return self.failure is not None and self.failure.code == NOT_IN_USE

    def inactive(self, accounts: Iterable[str]) -> dict[str, str]:
        """The accounts among these that are not ACTIVE, with their state."""
        return {a: state for a, state in self.of(accounts).items() if state != ACTIVE}

    def every_account(self) -> list[dict[str, Any]]:
        """Every account of the organization (ListAccounts), listed once per run."""
        if self._every is None:
            self._every = [
                dict(a) for a in self.clients.organizations.pages(lambda c, more: c.list_accounts(**more), "Accounts")
            ]
            self.remember(self._every, every_account=True)
        return self._every

    def _read(self, missing: list[str]) -> None:
        if len(missing) > DESCRIBE_AT_MOST:
            self.every_account()
            return
        for account in missing:
            self._describe(account)

    def _describe(self, account: str) -> None:
        found = self.clients.organizations.call(
            lambda c: c.describe_account(AccountId=account), ignore=("AccountNotFoundException",)
        )
        if found is None:
            self._states[account] = ACTIVE  # not in the organization: `outside` says so
            self._outside.add(account)
        else:
            self.remember([found["Account"]])


@dataclass
class Resolution:
    accounts: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (account id, why)
    errors: list[str] = field(default_factory=list)  # targets that cannot be resolved (an OU path)

    def describe(self, spec: AssignmentSpec) -> str:
        sources = []
        if spec.all_accounts:
            sources.append("all accounts")
        if spec.organizational_units:
            sources.append(
                ", ".join(spec.organizational_units) + (" (recursive)" if spec.recursive else " (one level)")
            )
        if spec.account_tags:
            sources.append("tagged " + ", ".join(f"{key}={value}" for key, value in spec.account_tags.items()))
        if spec.account_names:
            sources.append("named " + ", ".join(spec.account_names))
        text = f"{spec.permission_set}: {' + '.join(sources)} -> {len(self.accounts)} account(s)"
        if self.accounts:
            text += ": " + ", ".join(self.accounts)
        if self.skipped:
            text += "; skipped " + ", ".join(f"{a} ({why})" for a, why in self.skipped)
        return text


class OrganizationTargets:
    """Reads Organizations once per run (each listing cached) and resolves target specs."""

    def __init__(self, clients: Clients, states: AccountStates) -> None:
        self.clients = clients
        self.states = states
        self._children: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._root: str | None = None
        self._tags: dict[str, dict[str, str]] = {}
        self._delegated: tuple[str, ...] | None = None

    def _org(self) -> Any:
        return self.clients.organizations

    def delegated_administrators(self) -> tuple[str, ...]:
        """IAM Identity Center's delegated administrators, read once per run."""
        if self._delegated is None:
            self._delegated = delegated_administrators(self.clients)
        return self._delegated

    def accounts(self) -> dict[str, dict[str, Any]]:
        return {a["Id"]: a for a in self.states.every_account()}

    def _list(self, kind: str, parent: str) -> list[dict[str, Any]]:
        key = (kind, parent)
        if key not in self._children:
            if kind == "accounts":
                items = list(
                    self._org().pages(lambda c, more: c.list_accounts_for_parent(ParentId=parent, **more), "Accounts")
                )
                self.states.remember(items)
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

    def root(self) -> str:
        """The organization's root id (an organization has one)."""
        if self._root is None:
            self._root = str(self._org().pages(lambda c, more: c.list_roots(**more), "Roots")[0]["Id"])
        return self._root

    def ou_at(self, path: str) -> tuple[str | None, str | None]:
        """(OU id, None) of a path from the root such as /Workloads/Prod ("/" is the root), or
        (None, why) when there is no such OU. Names are matched exactly; Organizations refuses
        two OUs of one name under one parent (DuplicateOrganizationalUnitException)."""
        parent, walked = self.root(), ""
        for name in [n for n in path.split("/") if n]:
            children = self._list("ous", parent)
            found = [ou for ou in children if ou.get("Name") == name]
            if not found:
                names = sorted(str(ou.get("Name")) for ou in children)
                has = f"{walked or '/'} has {', '.join(names)}" if names else f"{walked or '/'} has no OUs"
                return None, f"no OU {walked}/{name} in the organization ({has}): fix the path, or give the OU id"
            parent, walked = str(found[0]["Id"]), f"{walked}/{name}"
        return parent, None

    def tags(self, account_id: str) -> dict[str, str]:
        """An account's Organizations tags (one listing, read once per run)."""
        if account_id not in self._tags:
            listed = self._org().pages(lambda c, more: c.list_tags_for_resource(ResourceId=account_id, **more), "Tags")
            self._tags[account_id] = {str(t["Key"]): str(t.get("Value", "")) for t in listed}
        return self._tags[account_id]

    def resolve_all(self, config: Config, ctx: Context) -> dict[int, Resolution]:
        """Resolutions of the assignments that target OUs or the organization, by index."""
        return {i: self.resolve(spec, ctx) for i, spec in enumerate(config.assignments) if spec.targets_organization}

    def resolve(self, spec: AssignmentSpec, ctx: Context) -> Resolution:
        """The accounts of every target of `spec` together, less the excluded ones."""
        explicit = [ctx.account(a) for a in spec.accounts]
        candidates: list[dict[str, Any]] = []
        errors = []
        if spec.all_accounts:
            candidates = list(self.accounts().values())
        for ou in spec.organizational_units:
            ou_id, error = self.ou_at(ou) if ou.startswith("/") else (ou, None)
            if ou_id is None:
                errors.append(f"organizational_units: {error}")
                continue
            candidates += self.under(ou_id, spec.recursive)
        if spec.account_names and not spec.all_accounts:
            candidates += [
                a
                for a in self.accounts().values()
                if any(fnmatchcase(str(a.get("Name", "")), glob) for glob in spec.account_names)
            ]
        # An excluded id the organization does not have is a typo whose account is not excluded.
        for account_id in self.states.outside(spec.exclude_accounts):
            errors.append(
                f"exclude_accounts: {account_id} is not an account of the organization, so it excludes "
                "nothing: correct the id (the account it meant to exclude would be assigned)"
            )
        management = ctx.management
        if spec.account_tags and not spec.all_accounts:
            # One tag listing per ACTIVE account the tags could add: not the management
            # account, nor one excluded or listed already.
            wanted = spec.account_tags.items()
            candidates += [
                a
                for a in self.accounts().values()
                if account_state(a) == ACTIVE
                and a["Id"] not in (management, *spec.exclude_accounts, *explicit)
                and wanted <= self.tags(a["Id"]).items()
            ]
        accounts, skipped = list(explicit), []
        for account in candidates:
            account_id = account["Id"]
            status = account_state(account)
            if account_id in accounts:
                continue
            if account_id in spec.exclude_accounts:
                skipped.append((account_id, "excluded"))
            elif status != ACTIVE:
                skipped.append((account_id, status))
            elif account_id == management:
                skipped.append((account_id, "management account: list it under accounts to include it"))
            else:
                accounts.append(account_id)
        return Resolution(accounts, sorted(set(skipped)), errors)
