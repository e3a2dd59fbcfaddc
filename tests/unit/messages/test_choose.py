"""choose_display rules on hand-built part trees."""

from __future__ import annotations

from webmail.messages.choose import (
    AttachmentInfo,
    DisplayPlan,
    attachment_name,
    choose_display,
)
from webmail.messages.parts import Envelope, MimePart


def leaf(section: str, content_type: str, **fields: object) -> MimePart:
    return MimePart(section=section, content_type=content_type, **fields)  # type: ignore[arg-type]


def multi(section: str, subtype: str, *children: MimePart, **params: str) -> MimePart:
    return MimePart(section=section, content_type=f"multipart/{subtype}", params=params, children=children)


def shown(plan: DisplayPlan) -> list[tuple[str, str]]:
    return [(i.kind, i.section) for i in plan.walk_items()]


def attached(plan: DisplayPlan) -> list[str]:
    return [a.section for a in plan.attachments]


PLAIN = leaf("1", "text/plain")
HTML = leaf("2", "text/html")


# --------------------------------------------------------------------------
# multipart/alternative


def test_alternative_prefers_html_unless_asked() -> None:
    tree = multi("TEXT", "alternative", PLAIN, HTML)
    assert shown(choose_display(tree)) == [("html", "2")]
    assert shown(choose_display(tree, prefer_html=False)) == [("text", "1")]


def test_alternative_takes_the_last_of_a_kind() -> None:
    tree = multi(
        "TEXT", "alternative", leaf("1", "text/plain"), leaf("2", "text/enriched"), leaf("3", "text/html")
    )
    assert shown(choose_display(tree, prefer_html=False)) == [("text", "2")]


def test_alternative_falls_back_to_what_exists() -> None:
    only_html = multi("TEXT", "alternative", leaf("1", "text/html"))
    assert shown(choose_display(only_html, prefer_html=False)) == [("html", "1")]
    only_text = multi("TEXT", "alternative", leaf("1", "text/plain"))
    assert shown(choose_display(only_text)) == [("text", "1")]


def test_alternative_of_nothing_readable_offers_everything() -> None:
    tree = multi("TEXT", "alternative", leaf("1", "application/x-foo"), leaf("2", "text/calendar"))
    plan = choose_display(tree)
    assert plan.body == () and attached(plan) == ["1", "2"]


def test_alternative_with_related_html_branch() -> None:
    related = multi(
        "2",
        "related",
        leaf("2.1", "text/html"),
        leaf("2.2", "image/png", content_id="logo"),
    )
    tree = multi("TEXT", "alternative", leaf("1", "text/plain"), related)
    html_plan = choose_display(tree)
    assert shown(html_plan) == [("html", "2.1")] and html_plan.attachments == ()
    assert set(html_plan.inline_images) == {"logo"}
    # Reading as text: the HTML's picture is neither shown nor an attachment.
    text_plan = choose_display(tree, prefer_html=False)
    assert shown(text_plan) == [("text", "1")] and text_plan.attachments == ()


def test_stray_attachments_in_unchosen_alternative() -> None:
    tree = multi(
        "TEXT",
        "alternative",
        leaf("1", "text/plain"),
        multi(
            "2",
            "mixed",
            leaf("2.1", "text/html"),
            leaf("2.2", "application/pdf", filename="a.pdf", disposition="attachment"),
        ),
        leaf("3", "text/calendar", params={"method": "REQUEST"}),
    )
    assert shown(choose_display(tree)) == [("html", "2.1")]
    assert attached(choose_display(tree)) == ["2.2", "3"]
    assert attached(choose_display(tree, prefer_html=False)) == ["2.2", "3"]


# --------------------------------------------------------------------------
# multipart/related


def test_related_root_from_start_parameter() -> None:
    tree = multi(
        "TEXT",
        "related",
        leaf("1", "image/gif", content_id="img"),
        leaf("2", "text/html", content_id="root@x"),
        start="<root@x>",
    )
    plan = choose_display(tree)
    assert shown(plan) == [("html", "2")]
    assert plan.attachments == ()
    assert {k: v.section for k, v in plan.inline_images.items()} == {"img": "1", "root@x": "2"}


def test_related_resource_without_cid_and_declared_files() -> None:
    tree = multi(
        "TEXT",
        "related",
        leaf("1", "text/html"),
        leaf("2", "image/png"),  # no Content-ID: nothing can point at it
        leaf("3", "application/pdf", content_id="doc", filename="d.pdf", disposition="attachment"),
        leaf("4", "image/jpeg", content_id="pic", filename="p.jpg", disposition="inline"),
    )
    plan = choose_display(tree)
    assert shown(plan) == [("html", "1"), ("image", "2")]
    assert attached(plan) == ["3"]
    assert set(plan.inline_images) == {"doc", "pic"}


def test_related_with_text_root_shows_its_images() -> None:
    tree = multi("TEXT", "related", leaf("1", "text/plain"), leaf("2", "image/png", content_id="x"))
    assert shown(choose_display(tree)) == [("text", "1"), ("image", "2")]


# --------------------------------------------------------------------------
# multipart/mixed and leaves


def test_mixed_rules() -> None:
    tree = multi(
        "TEXT",
        "mixed",
        leaf("1", "text/plain"),
        leaf("2", "image/jpeg", disposition="inline"),
        leaf("3", "image/png"),
        leaf("4", "image/png", filename="named.png"),  # a filename, no inline: file
        leaf("5", "image/png", filename="shown.png", disposition="inline"),
        leaf("6", "text/plain", disposition="attachment"),
        leaf("7", "text/html", filename="page.html"),
        leaf("8", "application/pdf"),
        leaf("9", "text/x-vcard"),
        leaf("10", "image/gif", disposition="attachement"),  # sic, seen in the wild
        leaf("11", "text/html"),
    )
    plan = choose_display(tree)
    assert shown(plan) == [
        ("text", "1"),
        ("image", "2"),
        ("image", "3"),
        ("image", "5"),
        ("html", "11"),
    ]
    assert attached(plan) == ["4", "6", "7", "8", "9", "10"]
    assert plan.sections_to_fetch() == ("1", "11")


def test_unknown_multipart_is_mixed() -> None:
    tree = multi("TEXT", "x-whatever", leaf("1", "text/plain"), leaf("2", "application/zip"))
    plan = choose_display(tree)
    assert shown(plan) == [("text", "1")] and attached(plan) == ["2"]


def test_single_leaf_roots() -> None:
    assert shown(choose_display(leaf("1", "text/plain"))) == [("text", "1")]
    assert shown(choose_display(leaf("1", "image/png"))) == [("image", "1")]
    pdf = choose_display(leaf("1", "application/pdf"))
    assert pdf.body == () and attached(pdf) == ["1"]
    text_file = choose_display(leaf("1", "text/plain", disposition="attachment", filename="a.txt"))
    assert text_file.body == () and attached(text_file) == ["1"]


def test_empty_multipart() -> None:
    plan = choose_display(multi("TEXT", "mixed"))
    assert plan == DisplayPlan()


# --------------------------------------------------------------------------
# message/rfc822


def test_nested_message_gets_its_own_plan() -> None:
    inner = multi(
        "2.TEXT",
        "mixed",
        leaf("2.1", "text/plain"),
        leaf("2.2", "application/pdf", filename="in.pdf"),
        leaf("2.3", "image/png", content_id="inner-cid", disposition="inline"),
    )
    message = MimePart(
        section="2",
        content_type="message/rfc822",
        envelope=Envelope(subject="Inner"),
        children=(inner,),
        disposition="attachment",
        filename="fwd.eml",
    )
    tree = multi("TEXT", "mixed", leaf("1", "text/plain", content_id="outer-cid"), message)
    plan = choose_display(tree)
    assert shown(plan) == [("text", "1"), ("nested-message", "2"), ("text", "2.1"), ("image", "2.3")]
    nested = plan.body[1]
    assert nested.plan is not None and nested.part.envelope == Envelope(subject="Inner")
    assert attached(nested.plan) == ["2.2"] and plan.attachments == ()
    assert [a.section for a in plan.all_attachments()] == ["2.2"]
    # cid scopes do not leak between a message and the one nested in it.
    assert set(plan.inline_images) == {"outer-cid"}
    assert set(nested.plan.inline_images) == {"inner-cid"}
    assert plan.sections_to_fetch() == ("1", "2.1")


def test_message_without_structure_is_an_attachment() -> None:
    message = MimePart(section="2", content_type="message/rfc822", size=500)
    tree = multi("TEXT", "mixed", leaf("1", "text/plain"), message)
    plan = choose_display(tree)
    assert plan.attachments == (
        AttachmentInfo(
            part=message, name="message.eml", content_type="message/rfc822", size=500, section="2"
        ),
    )


# --------------------------------------------------------------------------
# Names and sizes


def test_attachment_name() -> None:
    assert attachment_name(leaf("2", "application/pdf", filename="r.pdf")) == "r.pdf"
    assert attachment_name(leaf("2", "application/pdf")) == "part-2.pdf"
    assert attachment_name(leaf("1.3", "text/calendar")) == "part-1.3.ics"
    assert attachment_name(leaf("4", "application/x-unheard-of")) == "part-4.bin"
    assert attachment_name(leaf("4", "text/x-unheard-of")) == "part-4.txt"
    assert attachment_name(leaf("5", "application/ms-tnef")) == "part-5.dat"
    message = MimePart(
        section="3",
        content_type="message/rfc822",
        envelope=Envelope(subject='Re: a/b "quoted" <tags>: report?'),
    )
    assert attachment_name(message) == "Re_ a_b _quoted_ _tags_ report.eml"
    assert attachment_name(MimePart(section="3", content_type="message/rfc822")) == "message.eml"


def test_approx_size() -> None:
    part = leaf("2", "application/pdf", encoding="base64", size=78_000)
    info = choose_display(multi("TEXT", "mixed", part)).attachments[0]
    assert (info.size, info.approx_size) == (78_000, 57_000)
    plain = leaf("2", "application/pdf", encoding="binary", size=1000)
    assert choose_display(multi("TEXT", "mixed", plain)).attachments[0].approx_size == 1000
