"""The filter, vacation, raw script and forwarding address forms. Each turns into the editor's objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .rules import KB, MB, Actions, Criteria, Filter, Vacation

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_TERM = 200
MAX_REPLY = 20_000
MAX_SCRIPT = 200_000  # characters; servers cap scripts too (Dovecot: 1 MB by default)
FOLDER_GONE = gettext_lazy("The folder “%(value)s” no longer exists: choose another one.")
NOT_CONFIRMED = gettext_lazy(
    "%(value)s is not a confirmed forwarding address: add it below and confirm it first."
)
UNITS = [(str(MB), gettext_lazy("MB")), (str(KB), gettext_lazy("KB")), ("1", gettext_lazy("bytes"))]


def _text(label: StrOrPromise, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=MAX_TERM, strip=True, **kwargs)


def _no_controls(value: str, label: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise forms.ValidationError(_("“%(field)s” cannot contain line breaks.") % {"field": label})
    return value


class FilterForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput, required=False)
    name = _text(gettext_lazy("Name (optional)"))
    sender = _text(gettext_lazy("From"))
    recipient = _text(gettext_lazy("To"))
    subject = _text(gettext_lazy("Subject"))
    has_words = _text(gettext_lazy("Has the words"))
    lacks_words = _text(gettext_lazy("Doesn't have"))
    has_attachment = forms.BooleanField(label=gettext_lazy("Has attachment"), required=False)
    larger_than = forms.IntegerField(label=gettext_lazy("Larger than"), required=False, min_value=1)
    larger_unit = forms.ChoiceField(label=gettext_lazy("unit"), choices=UNITS, initial=str(MB))
    smaller_than = forms.IntegerField(label=gettext_lazy("Smaller than"), required=False, min_value=1)
    smaller_unit = forms.ChoiceField(label=gettext_lazy("unit"), choices=UNITS, initial=str(MB))

    move_to = forms.ChoiceField(
        label=gettext_lazy("Skip the Inbox: move to"),
        required=False,
        error_messages={"invalid_choice": FOLDER_GONE},
    )
    mark_read = forms.BooleanField(label=gettext_lazy("Mark as read"), required=False)
    star = forms.BooleanField(label=gettext_lazy("Star it"), required=False)
    forward_to = forms.ChoiceField(
        label=gettext_lazy("Forward it to"),
        required=False,
        error_messages={"invalid_choice": NOT_CONFIRMED},
    )
    delete = forms.BooleanField(label=gettext_lazy("Delete it"), required=False)
    never_junk = forms.BooleanField(label=gettext_lazy("Never send it to Junk"), required=False)

    apply_existing = forms.BooleanField(
        label=gettext_lazy("Also apply to the messages already in"), required=False
    )
    apply_folder = forms.ChoiceField(
        label=gettext_lazy("folder"),
        required=False,
        initial="INBOX",
        error_messages={"invalid_choice": FOLDER_GONE},
    )

    CRITERIA_TEXT = ("sender", "recipient", "subject", "has_words", "lacks_words")

    def __init__(
        self,
        *args: Any,
        folders: list[tuple[str, str]],
        forward_choices: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.folder_names = {name for name, _label in folders}
        move = self.fields["move_to"]
        assert isinstance(move, forms.ChoiceField)
        move.choices = [("", _("(don't move)")), *folders]
        apply_folder = self.fields["apply_folder"]
        assert isinstance(apply_folder, forms.ChoiceField)
        apply_folder.choices = folders
        forward = self.fields["forward_to"]
        assert isinstance(forward, forms.ChoiceField)
        forward.choices = [("", _("(don't forward)")), *((a, a) for a in forward_choices)]

    def _clean_text(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        return _no_controls(" ".join(value.split()), str(self.fields[name].label))

    def clean_name(self) -> str:
        return self._clean_text("name")

    def clean_sender(self) -> str:
        return self._clean_text("sender")

    def clean_recipient(self) -> str:
        return self._clean_text("recipient")

    def clean_subject(self) -> str:
        return self._clean_text("subject")

    def clean_has_words(self) -> str:
        return self._clean_text("has_words")

    def clean_lacks_words(self) -> str:
        return self._clean_text("lacks_words")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        rule = self.rule()
        if rule.criteria.empty:
            raise forms.ValidationError(
                _("Say which messages the filter is for: fill in at least one field.")
            )
        if rule.actions.empty:
            raise forms.ValidationError(_("Choose at least one thing to do with these messages."))
        a = rule.actions
        if a.move_to and a.delete:
            raise forms.ValidationError(_("Choose either a folder to move to or “Delete it”, not both."))
        if a.never_junk and a.files_elsewhere:
            raise forms.ValidationError(
                _("A filter that moves or deletes messages already keeps them out of Junk.")
            )
        c = rule.criteria
        if c.larger_than and c.smaller_than and c.larger_than >= c.smaller_than:
            raise forms.ValidationError(_("No message can be both that large and that small."))
        if data.get("apply_existing") and data.get("apply_folder") not in self.folder_names:
            self.add_error("apply_folder", _("Choose the folder to apply the filter to."))
        return data

    def rule(self, *, enabled: bool = True) -> Filter:
        d = self.cleaned_data

        def size(value: int | None, unit: str) -> int | None:
            return value * int(unit or 1) if value else None

        criteria = Criteria(
            sender=d.get("sender", ""),
            recipient=d.get("recipient", ""),
            subject=d.get("subject", ""),
            has_words=d.get("has_words", ""),
            lacks_words=d.get("lacks_words", ""),
            has_attachment=bool(d.get("has_attachment")),
            larger_than=size(d.get("larger_than"), d.get("larger_unit", "1")),
            smaller_than=size(d.get("smaller_than"), d.get("smaller_unit", "1")),
        )
        actions = Actions(
            move_to=d.get("move_to", ""),
            mark_read=bool(d.get("mark_read")),
            star=bool(d.get("star")),
            forward_to=d.get("forward_to", ""),
            delete=bool(d.get("delete")),
            never_junk=bool(d.get("never_junk")),
        )
        return Filter(criteria, actions, d.get("name", ""), enabled)


def _size_initial(size: int | None) -> tuple[int | None, str]:
    if size is None:
        return None, str(MB)
    for unit in (MB, KB):
        if size % unit == 0:
            return size // unit, str(unit)
    return size, "1"


def initial_for(rule: Filter) -> dict[str, Any]:
    c, a = rule.criteria, rule.actions
    larger, larger_unit = _size_initial(c.larger_than)
    smaller, smaller_unit = _size_initial(c.smaller_than)
    return {
        "name": rule.name,
        "sender": c.sender,
        "recipient": c.recipient,
        "subject": c.subject,
        "has_words": c.has_words,
        "lacks_words": c.lacks_words,
        "has_attachment": c.has_attachment,
        "larger_than": larger,
        "larger_unit": larger_unit,
        "smaller_than": smaller,
        "smaller_unit": smaller_unit,
        "move_to": a.move_to,
        "mark_read": a.mark_read,
        "star": a.star,
        "forward_to": a.forward_to,
        "delete": a.delete,
        "never_junk": a.never_junk,
    }


class VacationForm(forms.Form):
    EVERYONE, CONTACTS = "everyone", "contacts"

    version = forms.CharField(widget=forms.HiddenInput, required=False)
    enabled = forms.BooleanField(label=gettext_lazy("Vacation reply on"), required=False)
    start = forms.DateField(
        label=gettext_lazy("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=MAX_TERM)
    text = forms.CharField(
        label=gettext_lazy("Message"), required=False, max_length=MAX_REPLY, widget=forms.Textarea
    )
    html = forms.CharField(required=False, max_length=4 * MAX_REPLY, widget=forms.HiddenInput)
    audience = forms.ChoiceField(
        label=gettext_lazy("Reply to"),
        choices=[
            (EVERYONE, gettext_lazy("everyone who writes to me")),
            (CONTACTS, gettext_lazy("only people in my contacts")),
        ],
        initial=EVERYONE,
        widget=forms.RadioSelect,
    )
    days = forms.IntegerField(
        label=gettext_lazy("At most once per sender every (days)"), min_value=1, max_value=365, initial=7
    )

    def clean_subject(self) -> str:
        return _no_controls(self.cleaned_data.get("subject") or "", _("Subject"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The last day is before the first day."))
        if data.get("enabled"):
            if not data.get("subject"):
                self.add_error("subject", _("Give the reply a subject."))
            if not (data.get("text") or "").strip():
                self.add_error("text", _("Write the reply."))
        return data

    def vacation(self, *, html: str, contacts: tuple[str, ...], addresses: tuple[str, ...]) -> Vacation:
        d = self.cleaned_data
        contacts_only = d.get("audience") == self.CONTACTS
        return Vacation(
            enabled=bool(d.get("enabled")),
            start=d.get("start"),
            end=d.get("end"),
            subject=d.get("subject", ""),
            text=(d.get("text") or "").replace("\r\n", "\n"),
            html=html,
            days=int(d.get("days") or 7),
            contacts_only=contacts_only,
            contacts=contacts if contacts_only else (),
            addresses=addresses,
        )


def vacation_initial(vacation: Vacation | None) -> dict[str, Any]:
    if vacation is None:
        return {"audience": VacationForm.EVERYONE, "days": 7}
    return {
        "enabled": vacation.enabled,
        "start": vacation.start,
        "end": vacation.end,
        "subject": vacation.subject,
        "text": vacation.text,
        "html": vacation.html,
        "audience": VacationForm.CONTACTS if vacation.contacts_only else VacationForm.EVERYONE,
        "days": vacation.days,
    }


class RawScriptForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput, required=False)
    script = forms.CharField(
        label=gettext_lazy("Sieve script"),
        required=False,
        max_length=MAX_SCRIPT,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )


class ForwardAddressForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Forwarding address"))
    password = forms.CharField(
        label=gettext_lazy("Your mailbox password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("Asked again so that a stolen session cannot send your mail elsewhere."),
        max_length=1000,
    )


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Confirmation code"), max_length=40)
