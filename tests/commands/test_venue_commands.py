"""manage.py create_venue and grant_access."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from customer_intel.models import Venue, VenueMembership
from tests.factories import MembershipFactory, UserFactory, VenueFactory


def test_create_venue_prints_only_the_new_id(run_command, db):
    out, _ = run_command(
        "create_venue", "--name", "The Roundhouse", "--timezone", "Europe/London",
        "--currency", "GBP",
    )  # fmt: skip

    venue = Venue.objects.get(pk=uuid.UUID(out.strip()))
    assert out == f"{venue.pk}\n"
    assert (venue.name, venue.timezone, venue.currency) == (
        "The Roundhouse",
        "Europe/London",
        "GBP",
    )


def test_create_venue_defaults_to_utc_and_usd(run_command, db):
    out, _ = run_command("create_venue", "--name", "Hall")

    venue = Venue.objects.get(pk=out.strip())
    assert (venue.timezone, venue.currency) == ("UTC", "USD")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "timezone"),
        (["--timezone", "../../etc/passwd"], "timezone"),
        (["--timezone", ""], "timezone"),
        (["--currency", "usd"], "currency"),
        (["--currency", "EURO"], "currency"),
        (["--currency", "E1R"], "currency"),
    ],
)
def test_create_venue_refuses_a_bad_timezone_or_currency(run_command, db, args, message):
    with pytest.raises(CommandError, match=message):
        run_command("create_venue", "--name", "Hall", *args)

    assert not Venue.objects.exists()


@pytest.mark.parametrize("name", ["   ", "n" * 201])
def test_create_venue_refuses_a_blank_or_long_name(run_command, db, name):
    with pytest.raises(CommandError, match="name"):
        run_command("create_venue", "--name", name)

    assert not Venue.objects.exists()


def test_grant_access_creates_a_read_membership(run_command, venue):
    user = UserFactory(username="ana")

    out, _ = run_command("grant_access", "ana", str(venue.pk))

    assert VenueMembership.objects.get(user=user, venue=venue).can_write is False
    assert "read access" in out


def test_grant_access_with_write_upgrades_and_without_downgrades(run_command, venue):
    membership = MembershipFactory(venue=venue, can_write=False, user=UserFactory(username="bo"))

    run_command("grant_access", "bo", str(venue.pk), "--write")
    membership.refresh_from_db()
    assert membership.can_write is True

    run_command("grant_access", "bo", str(venue.pk))
    membership.refresh_from_db()
    assert membership.can_write is False
    assert VenueMembership.objects.filter(venue=venue).count() == 1


def test_grant_access_leaves_other_venues_alone(run_command, venue):
    other = MembershipFactory(user=UserFactory(username="cy"), can_write=True)

    run_command("grant_access", "cy", str(venue.pk))

    other.refresh_from_db()
    assert other.can_write is True
    assert VenueMembership.objects.filter(user=other.user).count() == 2


@pytest.mark.parametrize(
    ("username", "venue_id", "message"),
    [
        ("nobody", None, "User 'nobody' does not exist"),
        ("dee", str(uuid.uuid4()), "does not exist"),
        ("dee", "not-a-uuid", "not a UUID"),
    ],
)
def test_grant_access_refuses_unknown_users_and_venues(
    run_command, db, username, venue_id, message
):
    UserFactory(username="dee")
    venue_id = venue_id or str(VenueFactory().pk)

    with pytest.raises(CommandError, match=message):
        run_command("grant_access", username, venue_id, "--write")

    assert not VenueMembership.objects.exists()


def test_create_venue_refuses_a_second_venue_of_the_same_name(run_command, db):
    first, _ = run_command("create_venue", "--name", "The Roundhouse")

    with pytest.raises(CommandError, match="--allow-duplicate-name") as refused:
        run_command("create_venue", "--name", " The Roundhouse ")
    second, _ = run_command("create_venue", "--name", "The Roundhouse", "--allow-duplicate-name")

    assert first.strip() in str(refused.value)
    assert Venue.objects.filter(name="The Roundhouse").count() == 2
    assert second.strip() != first.strip()


def test_create_user_then_grant_access_then_a_token_reads_the_venue(run_command, venue, client):
    out, _ = run_command("create_user", "alice", "--email", "alice@example.org", "--token")
    run_command("grant_access", "alice", str(venue.pk))

    token = out.split("API token: ")[1].strip()
    user = get_user_model().objects.get(username="alice")
    assert (user.email, user.is_staff, user.has_usable_password()) == (
        "alice@example.org",
        False,
        False,
    )
    response = client.get(
        f"/customers/venue/{venue.pk}/segments", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200


def test_create_user_staff_without_token_prints_no_token(run_command, db):
    out, _ = run_command("create_user", "root2", "--staff")

    assert get_user_model().objects.get(username="root2").is_staff
    assert "token" not in out.lower()
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["taken"], "User 'taken' exists already"),
        (["new", "--email", "not-an-email"], "email"),
        (["bad name!"], "username"),
    ],
)
def test_create_user_refuses_a_taken_name_or_bad_input(run_command, db, args, message):
    UserFactory(username="taken")

    with pytest.raises(CommandError, match=message):
        run_command("create_user", *args)

    assert get_user_model().objects.count() == 1
