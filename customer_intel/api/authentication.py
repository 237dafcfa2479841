"""Token authentication accepting both `Authorization: Token <key>` and `Bearer <key>`.

A view may hand the token lookup its own first read, so that the caller's token and, say, the
profile the URL names come back in one query: its `token_lookup()` returns a compiled lookup of
the user by token `key` (the rows `user_with_token` selects, with the view's annotations) and
the lookup's other values, or None for the plain lookup.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, TextField
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from customer_intel.api.compiled import CompiledLookup
from customer_intel.models import VenueMembership

ACCEPTED_KEYWORDS = (b"token", b"bearer")


def user_with_token(key: str) -> QuerySet:
    """The active or inactive user holding the token `key`, with the token's fields."""
    return (
        get_user_model()
        .objects.filter(auth_token__key=key)
        .annotate(token_key=F("auth_token__key"), token_created=F("auth_token__created"))
    )


def user_with_member_document(
    key: str, *, venue_id: uuid.UUID, rows: QuerySet, sql: str, name: str
) -> QuerySet:
    """The user holding the token `key`, carrying as `name` the JSON text that `sql` (see
    sql_json) writes of the first of `rows`, one venue's rows: null unless the user is a
    member of the venue `venue_id`, or there is no such row."""
    membership = VenueMembership.objects.filter(user_id=OuterRef(OuterRef("pk")), venue_id=venue_id)
    # Built from the model's columns, with no input.
    document = RawSQL(sql, (), output_field=TextField())  # noqa: S611
    documents = rows.filter(Exists(membership)).annotate(document=document).values("document")[:1]
    return user_with_token(key).annotate(**{name: Subquery(documents)})


# Every request looks its token up: the user and the token in one query compiled once.
USER_WITH_TOKEN = CompiledLookup(get_user_model(), user_with_token, key=str)


class BearerOrTokenAuthentication(TokenAuthentication):
    """DRF's token auth; campaign tools commonly send the same key as a Bearer token."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in ACCEPTED_KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: expected 'Token <key>' or 'Bearer <key>'."
            )
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has invalid characters."
            ) from exc
        view = (request.parser_context or {}).get("view")
        companion = view.token_lookup() if hasattr(view, "token_lookup") else None
        if companion is not None:
            lookup, values = companion
            return self._credentials(lookup.first(key=key, **values))
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        """What DRF's does (same query, same errors), without building the query each time."""
        return self._credentials(USER_WITH_TOKEN.first(key=key))

    def _credentials(self, user: Any) -> tuple[Any, Token]:
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=user.token_key, user=user, created=user.token_created)
