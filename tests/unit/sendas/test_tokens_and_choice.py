"""Pure logic of "Send mail as": proof tokens, which identity a reply starts from, form helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from webmail.compose.outbound import Route
from webmail.imports.models import ExternalAccount
from webmail.mailaccess.types import Endpoint
from webmail.sendas import tokens
from webmail.sendas.forms import initial_from_external, smtp_host_guess
from webmail.sendas.models import Identity
from webmail.sendas.reply_from import default_identity, pick_identity


def test_challenge_stores_only_keyed_hashes_and_matches_its_own_values() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    challenge = tokens.new_challenge(now)
    assert len(challenge.code) == tokens.CODE_DIGITS and challenge.code.isdigit()
    assert challenge.token not in challenge.token_hash and challenge.code not in challenge.code_hash
    assert challenge.token not in repr(challenge) and challenge.code not in repr(challenge)
    assert tokens.matches(challenge.token_hash, challenge.token)
    assert tokens.matches(challenge.code_hash, challenge.code)
    assert not tokens.matches(challenge.code_hash, challenge.token)
    assert not tokens.matches("", "") and not tokens.matches(challenge.token_hash, "")
    assert challenge.expires_at == now + tokens.TOKEN_TTL


def test_two_challenges_differ() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first, second = tokens.new_challenge(now), tokens.new_challenge(now)
    assert first.token != second.token and first.token_hash != second.token_hash


def test_code_typed_with_spaces_or_dashes_still_matches() -> None:
    challenge = tokens.new_challenge(datetime(2026, 1, 1, tzinfo=UTC))
    typed = f" {challenge.code[:3]}-{challenge.code[3:6]} {challenge.code[6:]} "
    assert tokens.matches(challenge.code_hash, tokens.normalise_code(typed))


def _identity(pk: int, email: str = "", *, default: bool = False, name: str = "") -> Identity:
    return Identity(pk=pk, email=email, is_default=default, display_name=name)


def test_reply_picks_the_identity_the_original_was_sent_to() -> None:
    own = _identity(1, default=True)
    work = _identity(2, "me@work.test")
    old = _identity(3, "Me@Old.test")
    identities = [own, work, old]
    assert pick_identity(identities, "me@home.test", ["boss@work.test", "me@work.test"]) is work
    # Case does not matter, and Delivered-To counts when To/Cc say nothing (a list, a Bcc).
    assert pick_identity(identities, "me@home.test", ["list@lists.test", "me@old.TEST"]) is old
    # The account's own address picks the own identity, even if another one comes later.
    assert pick_identity(identities, "me@home.test", ["ME@home.test", "me@work.test"]) is own
    # Nothing of ours: the default.
    assert pick_identity(identities, "me@home.test", ["x@y.test"]) is own


def test_without_own_identities_the_own_address_means_none() -> None:
    work = _identity(2, "me@work.test")
    assert pick_identity([work], "me@home.test", ["me@home.test"]) is None
    assert pick_identity([work], "me@home.test", []) is None
    assert default_identity([work, _identity(3, "me@x.test", default=True)]).pk == 3  # type: ignore[union-attr]


def test_smtp_host_guess_from_a_pop_account() -> None:
    assert smtp_host_guess("pop.example.org") == "smtp.example.org"
    assert smtp_host_guess("pop3.example.org") == "smtp.example.org"
    assert smtp_host_guess("mail.example.org") == "mail.example.org"
    account = ExternalAccount(email="me@other.test", host="pop.other.test", username="me")
    initial = initial_from_external(account)
    assert initial == {
        "email": "me@other.test",
        "route": Identity.Route.EXTERNAL,
        "smtp_host": "smtp.other.test",
        "smtp_username": "me",
    }


def test_route_headers_and_secret_not_in_repr() -> None:
    route = Route(
        Endpoint("smtp.test", 587), "me@home.test", "s3cret", sender="me@home.test", reply_to="me@work.test"
    )
    assert route.headers() == {"Sender": "me@home.test", "Reply-To": "me@work.test"}
    assert "s3cret" not in repr(route)
    assert Route(Endpoint("smtp.test", 587), "u", "p").headers() == {}


def test_identity_usable_rules() -> None:
    assert _identity(1).usable  # the own address needs no proof
    unproved = _identity(2, "me@work.test")
    assert not unproved.verified and not unproved.usable
    unproved.verified_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert unproved.usable
    unproved.enabled = False
    assert not unproved.usable
