"""The audit trail: append-only in the database, hash-chained per organization, and fed by the
events that matter (sign-ins, payments, role changes, admin actions)."""

import threading
from io import StringIO

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import CommandError, call_command
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.test import Client

from accounts.audit import GENESIS, digest_of, lane_of
from accounts.models import AuditEntry, Membership, Organization, User
from accounts.services import audit_record, membership_grant
from tests.factories import PASSWORD, OrganizationFactory, UserFactory, order_paid


def verify() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except CommandError:
        return 1, err.getvalue()
    return 0, out.getvalue()


def test_rows_of_one_organization_form_a_hash_chain(db: None) -> None:
    org: Organization = OrganizationFactory.create()
    actor: User = UserFactory.create()
    rows = [
        audit_record(
            actor=actor, action="test.step", target=org, organization=org, changes={"n": n}
        )
        for n in range(3)
    ]
    other = audit_record(actor=actor, action="test.step", target=actor)

    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_digest == GENESIS
    assert rows[1].prev_digest == rows[0].digest and rows[2].prev_digest == rows[1].digest
    assert other.chain == AuditEntry.GLOBAL_CHAIN and other.seq == 1
    stored = AuditEntry.objects.get(pk=rows[2].pk)
    assert digest_of(stored) == stored.digest  # the digest survives the jsonb round trip
    assert verify() == (0, "Audit trail intact: 4 rows in 2 chain(s).\n")


def test_update_and_delete_are_refused_by_the_database(db: None) -> None:
    org: Organization = OrganizationFactory.create()
    entry = audit_record(actor=None, action="test.step", target=org, organization=org)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="nothing.happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM accounts_auditentry")

    assert AuditEntry.objects.get(pk=entry.pk).action == "test.step"


def test_audit_verify_names_the_row_a_superuser_changed_with_triggers_disabled(db: None) -> None:
    org: Organization = OrganizationFactory.create()
    rows = [
        audit_record(
            actor=None, action="order.refund", target=org, organization=org, changes={"n": n}
        )
        for n in range(4)
    ]
    # What someone with the database's superuser could do: go around the trigger.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(
            "UPDATE accounts_auditentry SET changes = '{\"n\": 99}' WHERE id = %s", [rows[2].pk]
        )
        cursor.execute("ALTER TABLE accounts_auditentry ENABLE TRIGGER audit_entry_append_only")

    code, report = verify()

    assert code == 1
    assert f"first bad row id={rows[2].pk} seq=3" in report
    assert "content does not match" in report


def test_audit_verify_notices_a_deleted_row(db: None) -> None:
    org: Organization = OrganizationFactory.create()
    rows = [audit_record(actor=None, action="a", target=org, organization=org) for _ in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute("DELETE FROM accounts_auditentry WHERE id = %s", [rows[1].pk])
        cursor.execute("ALTER TABLE accounts_auditentry ENABLE TRIGGER audit_entry_append_only")

    code, report = verify()

    assert code == 1 and f"id={rows[2].pk} seq=3" in report and "missing" in report


def _append_concurrently(org: Organization, writers: int) -> list[BaseException]:
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                audit_record(
                    actor=None, action="race", target=org, organization=org, changes={"n": n}
                )
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_organization_extend_one_unbroken_chain() -> None:
    org: Organization = OrganizationFactory.create()

    errors = _append_concurrently(org, writers=8)

    assert errors == []
    seqs = AuditEntry.objects.filter(organization=org).values_list("seq", flat=True)
    assert sorted(seqs) == list(range(1, 9))
    assert verify()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_without_the_chain_lock_concurrent_writers_collide(settings) -> None:
    # Negative control: the lock is what keeps the chain linear under concurrency.
    settings.BOXOFFICE_TEST_SWITCHES = {"audit_chain_unlocked": True}
    org: Organization = OrganizationFactory.create()

    errors = _append_concurrently(org, writers=8)

    assert any(isinstance(e, IntegrityError) for e in errors), errors


def _second_writer_waits(org: Organization, *, spread: bool) -> bool:
    """One transaction appends an entry and stays open; True if a second writer of the same
    organization (another target, in another lane) has to wait for its commit."""
    first_target, second_target = ("ticketing.order", "a"), ("ticketing.order", "b")
    assert lane_of(":".join(first_target)) != lane_of(":".join(second_target))
    written, finish = threading.Event(), threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                audit_record(
                    actor=None,
                    action="order.pay",
                    target=first_target,
                    organization=org,
                    spread=spread,
                )
                written.set()
                finish.wait(timeout=20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=first)
    holder.start()
    try:
        assert written.wait(timeout=20)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            try:
                with transaction.atomic():
                    audit_record(
                        actor=None,
                        action="order.pay",
                        target=second_target,
                        organization=org,
                        spread=spread,
                    )
            except OperationalError:
                return True
        return False
    finally:
        finish.set()
        holder.join()


@pytest.mark.django_db(transaction=True)
def test_payments_of_one_organization_do_not_wait_for_each_others_commit() -> None:
    org: Organization = OrganizationFactory.create()

    assert not _second_writer_waits(org, spread=True)

    chains = set(AuditEntry.objects.filter(organization=org).values_list("chain", flat=True))
    assert len(chains) == 2 and all(chain.startswith(f"{org.pk}/") for chain in chains)
    assert verify()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_entries_on_the_organizations_one_chain_wait_for_each_others_commit() -> None:
    # Negative control: without lanes the second writer waits for the first one's commit.
    assert _second_writer_waits(OrganizationFactory.create(), spread=False)


def test_sign_in_success_and_failure_are_recorded_without_storing_unknown_emails(
    db: None,
) -> None:
    user: User = UserFactory.create()
    client = Client()

    client.post("/accounts/login/", {"login": user.email, "password": "wrong-one"})
    client.post("/accounts/login/", {"login": "stranger@example.com", "password": "x"})
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})

    actions = list(AuditEntry.objects.order_by("seq").values_list("action", "target_id", "actor"))
    assert actions == [
        ("signin.failed", str(user.pk), None),
        ("signin.failed", "", None),
        ("signin.success", str(user.pk), user.pk),
    ]
    stranger = AuditEntry.objects.get(target_id="")
    assert "stranger" not in str(stranger.changes)
    assert stranger.ip == "127.0.0.1"


def test_payment_is_recorded_in_the_payment_transaction(tier) -> None:
    buyer: User = UserFactory.create()

    outcome = order_paid(buyer=buyer, tier=tier)

    entry = AuditEntry.objects.get(action="order.pay")
    assert entry.target_id == str(outcome.order.pk)
    assert entry.actor_id == buyer.pk
    assert entry.organization_id == tier.event.organization_id
    assert entry.changes == {"total": str(outcome.order.total), "currency": "EUR"}
    assert entry.chain.startswith(f"{tier.event.organization_id}/")  # one of its lanes


def test_a_reannounced_payment_is_recorded_once(tier) -> None:
    from ticketing.models import Order
    from ticketing.signals import order_confirmed

    outcome = order_paid(buyer=UserFactory.create(), tier=tier)
    first = AuditEntry.objects.get(action="order.pay")

    with transaction.atomic():
        order_confirmed.send(sender=Order, order_id=outcome.order.pk)

    assert list(AuditEntry.objects.filter(action="order.pay").values_list("pk", flat=True)) == [
        first.pk
    ]
    assert verify()[0] == 0


def test_role_change_is_recorded(organizer: User) -> None:
    org = organizer.organizations.get()
    colleague: User = UserFactory.create()

    for role in (Membership.Role.DOOR, Membership.Role.MANAGER):
        membership_grant(organization=org, user=colleague, role=role, actor=organizer)

    changes = list(
        AuditEntry.objects.filter(action="membership.role")
        .order_by("seq")
        .values_list("changes", flat=True)
    )
    assert changes == [
        {"user": colleague.pk, "role": [None, "door"]},
        {"user": colleague.pk, "role": ["door", "manager"]},
    ]


def test_admin_actions_are_recorded(db: None) -> None:
    admin: User = UserFactory.create(is_staff=True, is_superuser=True)
    target: User = UserFactory.create()

    LogEntry.objects.log_actions(
        user_id=admin.pk,
        queryset=User.objects.filter(pk=target.pk),
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["is_active"]}}],
        single_object=True,
    )

    entry = AuditEntry.objects.get(action="admin.change")
    assert entry.actor_id == admin.pk
    assert entry.target_type == "accounts.user"
    assert entry.target_id == str(target.pk)
