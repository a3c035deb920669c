"""Call counts, not timings: a regression to per-assignment reads fails here."""

from __future__ import annotations

from typing import Any

from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import join_organization, organization

# A smaller reference organization: 5 sets, 6 groups, 20 users, 10 accounts, 60 assignments.
SMALL = organization(groups=6, users=20, permission_sets=5, accounts=10, assignments=60)
WIDER = organization(groups=6, users=20, permission_sets=5, accounts=20, assignments=120)


def plan_reads(doc: dict[str, Any], clock: Any) -> dict[str, int]:
    clients = make_clients(clock)
    Runner(clients, parse(doc), run_settings()).plan()
    assert clients.log.writes() == {}
    return dict(clients.log.counts)


def test_noop_plan_reads_grow_with_sets_and_principals_not_assignments(aws: realism.State, clock: Any) -> None:
    plan_and_apply(make_clients(clock), parse(SMALL))
    counts = plan_reads(SMALL, clock)
    sets, groups = 5, 6
    # sts + ListInstances + ListGroups + ListUsers + ListPermissionSets, memberships per group,
    # a describe and six aspects (managed, customer, inline, boundary, tags, stale) per set,
    # assignments per principal.
    assert sum(counts.values()) == 5 + groups + 7 * sets + groups
    assert counts["sso-admin:ListAccountAssignmentsForPrincipal"] == groups


def test_twice_the_accounts_adds_at_most_five_reads(aws: realism.State, clock: Any) -> None:
    plan_and_apply(make_clients(clock), parse(SMALL))
    narrow = sum(plan_reads(SMALL, clock).values())
    wide = sum(plan_reads(WIDER, clock).values())
    assert wide - narrow <= 5


def test_fresh_apply_provisions_nothing_and_polls_in_batches(aws: realism.State, clock: Any) -> None:
    realism.configure(async_seconds=3, clock=clock.now)
    clients = make_clients(clock)
    plan_and_apply(clients, parse(SMALL))
    counts = clients.log.counts
    assert counts["sso-admin:ProvisionPermissionSet"] == 0  # a first assignment provisions the set
    # Polled in rounds of a listing or two: no describe of a request that SUCCEEDED.
    assert counts["sso-admin:DescribeAccountAssignmentCreationStatus"] == 0
    assert counts["sso-admin:ListAccountAssignmentCreationStatus"] <= 2 * 60 / 15 * 8


def test_delegated_noop_plan_reads_each_set_where_it_is(aws: realism.State, clock: Any) -> None:
    """From the delegated administrator, which may not list by principal: a listing per set and
    per account it is on, and two reads to know where the run stands."""
    from tests.test_delegation_realism import DELEGATED, as_account, organization

    organization()
    join_organization(SMALL)
    plan_and_apply(make_clients(clock), parse(SMALL))
    as_account(DELEGATED)
    counts = plan_reads(SMALL, clock)
    sets, groups, accounts = 5, 6, 10
    # ... as the management account's, with a listing of the accounts of each set instead of the
    # principals', one of each set on each account, then ListDelegatedAdministrators and
    # ListPermissionSetsProvisionedToAccount.
    assert sum(counts.values()) == 5 + groups + 7 * sets + sets + sets * accounts + 2
    assert "sso-admin:ListAccountAssignmentsForPrincipal" not in counts


def test_one_set_edited_lists_where_it_is_once(aws: realism.State, clock: Any) -> None:
    """A changed set is provisioned to every account it is on: one listing of them, and one
    listing of where each set that does not change is stale."""
    plan_and_apply(make_clients(clock), parse(SMALL))
    edited = {**SMALL, "permission_sets": [dict(SMALL["permission_sets"][0], session_duration="PT2H")]}
    edited["permission_sets"] += SMALL["permission_sets"][1:]
    counts = plan_reads(edited, clock)
    assert counts["sso-admin:ListAccountsForProvisionedPermissionSet"] == 5
