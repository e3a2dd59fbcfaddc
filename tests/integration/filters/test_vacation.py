"""The vacation reply, set in the settings page and sent by Dovecot (Sieve vacation, RFC 5230)."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.integration.filters.conftest import Outbound, active_script, deliver
from tests.support.mail import make_message
from webmail.compose.models import KnownAddress
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/filters/vacation/"


def set_vacation(web: Client, **fields: Any) -> Any:
    page = web.get(URL)
    assert page.status_code == 200, page.content[:500]
    form = {
        "version": page.context["form"].initial["version"],
        "enabled": "on",
        "subject": "Away until Monday",
        "text": "I am away; I will answer when I am back.",
        "audience": "everyone",
        "days": 1,
    }
    form.update(fields)
    return web.post(URL, form)


def mail_from(dovecot: DovecotInstance, user: MailUser, sender: str, subject: str, **headers: str) -> None:
    raw = make_message(subject=subject, sender=sender, to=user.email, headers=headers or None)
    deliver(dovecot, user.email, raw, sender=sender)


def test_replied_once_per_sender_within_its_range_never_to_lists_or_automatic_mail(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance, outbound: Outbound
) -> None:
    today = timezone.localdate()
    html = "<p>I am <b>away</b>.</p><script>alert(1)</script>"
    response = set_vacation(
        web,
        start=(today - timedelta(days=1)).isoformat(),
        end=(today + timedelta(days=3)).isoformat(),
        html=html,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    script = active_script(dovecot, mail_user)
    assert "vacation" in script and 'currentdate :value "ge" "date"' in script and "<script" not in script

    mail_from(dovecot, mail_user, "ann@sender.test", "first")
    mail_from(dovecot, mail_user, "ann@sender.test", "second")  # the same sender again: no second reply
    mail_from(dovecot, mail_user, "bob@sender.test", "hello")
    mail_from(dovecot, mail_user, "news@list.test", "digest", **{"List-Id": "<news.list.test>"})
    mail_from(dovecot, mail_user, "robot@sender.test", "receipt", **{"Auto-Submitted": "auto-generated"})
    mail_from(dovecot, mail_user, "bulk@sender.test", "offers", **{"Precedence": "bulk"})

    assert len(outbound.wait_for(1, "bob@sender.test")) == 1
    assert len(outbound.to("ann@sender.test")) == 1
    for nobody in ("news@list.test", "robot@sender.test", "bulk@sender.test"):
        assert outbound.to(nobody) == []
    reply = message_from_bytes(outbound.to("ann@sender.test")[0].data, policy=policy.default)
    assert reply["Subject"] == "Away until Monday"
    assert reply["Auto-Submitted"].startswith("auto-replied")
    assert "away" in reply.get_body(("plain",)).get_content()
    assert "<b>away</b>" in reply.get_body(("html",)).get_content()

    # The mailbox shows that the reply is on.
    banner = web.get("/settings/filters/vacation/banner/").content.decode()
    assert "Your vacation reply is on until" in banner


def test_no_reply_before_the_first_day_or_when_off(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance, outbound: Outbound
) -> None:
    later = timezone.localdate() + timedelta(days=5)
    assert set_vacation(web, start=later.isoformat()).status_code == 302
    mail_from(dovecot, mail_user, "early@sender.test", "too early")
    assert "vacation-banner" not in web.get("/settings/filters/vacation/banner/").content.decode()

    assert set_vacation(web, enabled="").status_code == 302
    assert "if false {" in active_script(dovecot, mail_user)
    mail_from(dovecot, mail_user, "later@sender.test", "while off")
    # A reply goes out within a second when one is due; give the server that long.
    outbound.wait_for(1, "early@sender.test", timeout=1.5)
    assert outbound.messages == []
    # Off keeps what was written, for the next time.
    assert web.get(URL).context["form"].initial["subject"] == "Away until Monday"


def test_only_to_my_contacts(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance, outbound: Outbound, django_user_model: Any
) -> None:
    user = django_user_model.objects.get(username=mail_user.email)
    KnownAddress.objects.create(user=user, email="friend@sender.test", search="friend@sender.test")
    assert set_vacation(web, audience="contacts").status_code == 302
    mail_from(dovecot, mail_user, "stranger@sender.test", "hi")
    mail_from(dovecot, mail_user, "Friend@Sender.test", "hi")
    assert len(outbound.wait_for(1, "friend@sender.test")) == 1
    assert outbound.to("stranger@sender.test") == []


def test_contacts_only_without_contacts_is_refused_in_words(web: Client, mail_user: MailUser) -> None:
    response = set_vacation(web, audience="contacts")
    assert response.status_code == 400
    assert "You have no contacts yet" in response.content.decode()
