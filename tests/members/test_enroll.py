import threading

import pytest
from django.db import IntegrityError, connection

from loyalty.exceptions import Conflict
from members.models import Member
from members.numbers import luhn_check_digit
from members.services import member_enroll


def test_enrolment_opens_an_empty_points_account_and_a_luhn_checked_number(db):
    member = member_enroll(email="ada@example.com", first_name="Ada")

    assert (member.account.balance, member.account.pending) == (0, 0)
    assert len(member.member_number) == 10
    assert luhn_check_digit(member.member_number[:-1]) == member.member_number[-1]


def test_a_known_email_in_any_case_is_a_conflict_that_names_no_member(db):
    member_enroll(email="ada@example.com")

    with pytest.raises(Conflict) as error:
        member_enroll(email="ADA@example.com")

    assert (error.value.message, error.value.details) == ("This e-mail is already registered.", {"field": "email"})
    assert Member.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_enrolments_of_one_email_make_one_member_and_conflicts():
    barrier, outcomes = threading.Barrier(4), []

    def enroll():
        try:
            barrier.wait()
            outcomes.append(member_enroll(email="race@example.com"))
        except Conflict as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=enroll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Conflict", "Conflict", "Member"]
    assert Member.objects.count() == 1


def test_an_email_that_is_a_staff_login_is_a_conflict_and_creates_nothing(db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("ada@example.com", "ops@example.com", "x", is_staff=True)

    with pytest.raises(Conflict) as error:
        member_enroll(email="Ada@Example.com")

    assert (error.value.message, error.value.details) == ("This e-mail is already registered.", {"field": "email"})
    assert not Member.objects.exists()
    assert get_user_model().objects.count() == 1


def test_an_integrity_error_other_than_a_known_login_propagates(db):
    """Only the login's uniqueness is a conflict: any other refusal of the database is not hidden as one."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE auth_user ADD CONSTRAINT test_no_forbidden CHECK (first_name <> 'Forbidden')")
        else:
            cursor.execute(
                "CREATE TEMP TRIGGER test_no_forbidden BEFORE INSERT ON auth_user "
                "WHEN NEW.first_name = 'Forbidden' BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed'); END"
            )

    try:
        with pytest.raises(IntegrityError):
            member_enroll(email="ada@example.com", first_name="Forbidden")
    finally:
        if connection.vendor == "sqlite":  # PostgreSQL's ALTER rolls back with the test's transaction
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER IF EXISTS test_no_forbidden")

    assert not Member.objects.exists()
