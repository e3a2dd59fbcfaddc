"""Web Push: devices subscribe in Settings, new inbox mail reaches them encrypted and signed.

Every push goes to the push service on loopback, which checks the VAPID JWT and
decrypts the payload with the subscription's private key, as a browser does.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import default_server
from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from tests.support.pushservice import PushService, Subscription
from webmail.devstack.dovecot import DovecotInstance
from webmail.webpush import delivery
from webmail.webpush.models import PushSubscription
from webmail.webpush.services import endpoint_digest

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


def _subscribe(client: Client, sub: Subscription, **extra: Any) -> Any:
    keys = sub.as_json()["keys"]
    data = {"endpoint": sub.endpoint, "p256dh": keys["p256dh"], "auth": keys["auth"], **extra}
    return client.post("/settings/notifications/subscribe/", data, HTTP_USER_AGENT=CHROME_LINUX)


def _store_password(user: MailUser) -> None:
    MailAccount.objects.filter(email=user.email).update(
        imap_password=user.password, imap_password_for=endpoint_key(default_server().imap)
    )


def _deliver(dovecot: DovecotInstance, user: MailUser, subject: str, sender: str) -> int:
    append_all(
        dovecot.imap_port,
        user.email,
        user.password,
        "INBOX",
        [(make_message(subject=subject, sender=sender), [])],
    )
    imap = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        imap.select_folder("INBOX")
        return max(imap.search(["ALL"]))
    finally:
        imap.logout()


def test_settings_section_offers_push_with_our_key(
    signed_in: tuple[Client, MailUser], push_service: PushService
) -> None:
    from webmail.webpush.vapid import application_server_key

    client, _user = signed_in
    html = client.get("/settings/notifications/").content.decode()
    assert f'data-public-key="{application_server_key()}"' in html
    assert 'data-section="notifications" ' in html or 'data-section="notifications">' in html
    assert "None yet." in html


def test_settings_section_says_when_push_is_not_set_up(
    signed_in: tuple[Client, MailUser], settings: Any
) -> None:
    settings.WEBMAIL_VAPID_PRIVATE_KEY = ""
    client, _user = signed_in
    html = client.get("/settings/notifications/").content.decode()
    assert "Push notifications are not set up on this server." in html
    assert "data-webpush" not in html


def test_subscribe_list_unsubscribe_and_remove(
    signed_in: tuple[Client, MailUser], push_service: PushService
) -> None:
    client, user = signed_in
    phone, laptop = push_service.subscribe(), push_service.subscribe()
    assert _subscribe(client, phone).status_code == 200
    assert _subscribe(client, laptop).status_code == 200
    assert _subscribe(client, laptop).status_code == 200  # a browser subscribing again: still one row
    rows = PushSubscription.objects.filter(user__mail_account__email=user.email)
    assert rows.count() == 2
    assert {r.label for r in rows} == {"Chrome on Linux"}
    html = client.get("/settings/notifications/").content.decode()
    assert html.count("data-device=") == 2
    # Never shown back: the auth secret and the endpoint.
    assert phone.endpoint not in html and phone.as_json()["keys"]["auth"] not in html
    # Only a digest, for the browser to find its own subscription in the list.
    assert endpoint_digest(phone.endpoint) in html

    assert (
        client.post("/settings/notifications/unsubscribe/", {"endpoint": phone.endpoint}).status_code == 200
    )
    assert not rows.filter(endpoint=phone.endpoint).exists()
    other = rows.get(endpoint=laptop.endpoint)
    assert client.post(f"/settings/notifications/{other.pk}/remove/").status_code == 302
    assert not rows.all().exists()  # .all(): a fresh query, not the rows read above


def test_bad_subscriptions_get_a_clear_error(
    signed_in: tuple[Client, MailUser], push_service: PushService, settings: Any
) -> None:
    client, _user = signed_in
    sub = push_service.subscribe()
    bad_keys = _subscribe(client, sub, auth="dG9vLXNob3J0")
    assert bad_keys.status_code == 400
    assert bad_keys.json()["error"] == "The browser sent push keys this server cannot use."
    settings.WEBMAIL_WEBPUSH_ALLOWED_HOSTS = []
    refused = _subscribe(client, sub)  # plain http to loopback: not a push service we post to
    assert refused.status_code == 400
    assert "cannot be reached from the server" in refused.json()["error"]
    assert not PushSubscription.objects.exists()


def test_new_mail_round_trips_through_the_push_service(
    signed_in: tuple[Client, MailUser], push_service: PushService, imap_settings: DovecotInstance
) -> None:
    client, user = signed_in
    _store_password(user)
    sub = push_service.subscribe()
    assert _subscribe(client, sub).status_code == 200
    uid = _deliver(imap_settings, user, "Budget for next spring", "Alice Martin <alice@example.test>")
    account = MailAccount.objects.get(email=user.email)

    outcome = delivery.notify_new_mail(account.user_id, [uid])

    assert (outcome.sent, outcome.failed, outcome.removed) == (1, 0, 0)
    (got,) = push_service.wait_for(1)
    assert got.problems == []
    assert got.payload["title"] == "Alice Martin"
    assert got.payload["body"] == "Budget for next spring"
    assert got.payload["url"] == f"http://testserver/mail/message/?folder=INBOX&uid={uid}"
    assert got.claims["aud"] == push_service.origin
    assert int(got.headers["ttl"]) > 0
    assert PushSubscription.objects.get(endpoint=sub.endpoint).last_success is not None


def test_without_a_stored_password_the_notification_has_no_content(
    signed_in: tuple[Client, MailUser], push_service: PushService, imap_settings: DovecotInstance
) -> None:
    client, user = signed_in
    sub = push_service.subscribe()
    assert _subscribe(client, sub).status_code == 200
    uid = _deliver(imap_settings, user, "Private matter", "Bob <bob@example.test>")
    delivery.notify_new_mail(MailAccount.objects.get(email=user.email).user_id, [uid])
    (got,) = push_service.wait_for(1)
    assert got.problems == []
    assert got.payload["title"] == "New mail"
    assert "Private matter" not in str(got.payload) and "Bob" not in str(got.payload)
    assert got.payload["url"].endswith(f"/mail/message/?folder=INBOX&uid={uid}")
    # The device reads sender and subject itself, with its own session (tests/browser).
    assert got.payload["summary"] == f"/push/summary/?folder=INBOX&uid={uid}"


def test_notification_in_the_language_the_device_subscribed_in(
    signed_in: tuple[Client, MailUser], push_service: PushService
) -> None:
    client, user = signed_in
    client.cookies["django_language"] = "fr"
    assert _subscribe(client, push_service.subscribe()).status_code == 200
    delivery.notify_new_mail(MailAccount.objects.get(email=user.email).user_id, [7])
    (got,) = push_service.wait_for(1)
    assert got.payload["title"] == "Nouveau courrier"


@pytest.mark.parametrize("status", [410, 404])
def test_a_gone_subscription_is_removed(
    signed_in: tuple[Client, MailUser], push_service: PushService, status: int, caplog: Any
) -> None:
    client, user = signed_in
    gone, kept = push_service.subscribe(status=status), push_service.subscribe()
    assert _subscribe(client, gone).status_code == 200
    assert _subscribe(client, kept).status_code == 200
    caplog.set_level(logging.DEBUG)
    outcome = delivery.notify_new_mail(MailAccount.objects.get(email=user.email).user_id, [3])
    assert (outcome.sent, outcome.removed) == (1, 1)
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [kept.endpoint]
    _assert_no_secret_logged(caplog.text, gone)


def test_a_push_the_service_refuses_keeps_the_subscription_and_logs_no_secret(
    signed_in: tuple[Client, MailUser], push_service: PushService, caplog: Any
) -> None:
    """The receiver checks the signature: with another server key, every push is refused."""
    client, user = signed_in
    sub = push_service.subscribe()
    assert _subscribe(client, sub).status_code == 200
    push_service.vapid_public_key = PushService(push_service.subscribe().p256dh).vapid_public_key
    caplog.set_level(logging.DEBUG)
    outcome = delivery.notify_new_mail(MailAccount.objects.get(email=user.email).user_id, [3])
    (got,) = push_service.wait_for(1)
    assert "JWT signature does not verify against the public key" in got.problems
    assert (outcome.sent, outcome.failed, outcome.removed) == (0, 1, 0)
    assert PushSubscription.objects.filter(endpoint=sub.endpoint).exists()
    _assert_no_secret_logged(caplog.text, sub)


def _assert_no_secret_logged(text: str, sub: Subscription) -> None:
    assert "127.0.0.1" in text  # the failure was logged, by host
    for secret in (sub.as_json()["keys"]["auth"], sub.as_json()["keys"]["p256dh"], sub.token):
        assert secret not in text


@pytest.mark.parametrize(
    ("uids", "title", "url_end"),
    [
        ([11, 12, 13, 14], "4 new messages", "/mail/"),  # a burst: one notification, not four
        ([], "New mail", "/mail/"),  # the event did not say which
    ],
)
def test_a_burst_or_unknown_uids_make_one_notification_for_the_inbox(
    signed_in: tuple[Client, MailUser],
    push_service: PushService,
    uids: list[int],
    title: str,
    url_end: str,
) -> None:
    client, user = signed_in
    assert _subscribe(client, push_service.subscribe()).status_code == 200
    outcome = delivery.notify_new_mail(MailAccount.objects.get(email=user.email).user_id, uids)
    assert outcome.sent == 1
    (got,) = push_service.wait_for(1)
    assert got.problems == []
    assert got.payload["title"] == title
    assert got.payload["url"] == f"http://testserver{url_end}"
