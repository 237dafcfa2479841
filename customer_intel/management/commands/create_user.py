"""manage.py create_user USERNAME [--email E] [--staff] [--token] — an operator creates the
user a venue's access is then granted to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Create a user without a password (API access is by token; set a password for the "
        "admin with `manage.py changepassword`). --staff lets the user into the admin and every "
        "venue; --token prints the user's new API token. Then: grant_access USERNAME VENUE_ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The user's email address.")
        parser.add_argument(
            "--staff", action="store_true", help="Staff: the admin, and read access to every venue."
        )
        parser.add_argument(
            "--token", action="store_true", help="Create an API token and print it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username: str = options["username"]
        email: str = options["email"]
        user = user_model(username=username, email=email, is_staff=options["staff"])
        user.set_unusable_password()
        try:
            user.full_clean(exclude=["password"], validate_unique=False)
            if email:
                validate_email(email)
        except ValidationError as problem:
            messages = getattr(problem, "message_dict", {"email": problem.messages})
            raise CommandError(
                " ".join(f"{field}: {' '.join(texts)}" for field, texts in messages.items())
            ) from None
        with transaction.atomic():
            if user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).exists():
                raise CommandError(f"User {username!r} exists already.")
            user.save()
            token = Token.objects.create(user=user) if options["token"] else None
        self.stdout.write(f"Created user {username}{' (staff)' if user.is_staff else ''}.")
        if token is not None:
            self.stdout.write(f"API token: {token.key}")
