"""Every write to contacts, companies, contact groups and custom-field definitions.

Updates follow the API's rules (§3.2, §8.2): only the keys given are written, a ``None`` clears a
field, arrays (``emails``, ``phones``, ``groups``, ``tags``) replace the stored array, and
``custom_fields`` ({code: value}) merge by code. Bad input raises :class:`ActionError` and changes
nothing. Related objects are passed as instances (``company``, ``groups``, ``tags``); the callers
turn client ids into instances with :func:`saruna.contacts.common.resolve_ids`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import F, ForeignObjectRel
from django.utils import timezone
from django.utils.translation import gettext

from saruna.contacts.common import ActionError, save_record, validate
from saruna.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    ContactEvent,
    ContactGroup,
    ContactPhone,
    ContactType,
    CustomField,
    Gender,
    Party,
    normalize_email,
)
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.timezones import utc_offset_seconds, zone_names
from saruna.search import index as search_index
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import Status, Tag, Ticket
from saruna.webhooks import actions as webhooks

if TYPE_CHECKING:
    from saruna.accounts.models import User

PARTY_FIELDS = (
    "system_name", "description", "avatar_url", "language", "city", "countrycode", "ip",
    "note", "useragent", "screen", "time_offset", "time_zone", "latitude", "longitude",
)
CONTACT_FIELDS = (*PARTY_FIELDS, "firstname", "lastname", "gender", "job_position", "company")
COMPANY_FIELDS = (*PARTY_FIELDS, "name")


def create_contact(account: Account, *, actor: User | None = None, **fields: Any) -> Contact:
    with transaction.atomic():
        contact = Contact(account=account)
        _write(contact, fields)
        _history(contact, ContactEvent.Kind.CREATED, actor)
        search_index.reindex_contact(contact)
        webhooks.contact_created(contact)
    return contact


def update_contact(contact: Contact, *, actor: User | None = None, **fields: Any) -> Contact:
    with transaction.atomic():
        changed = _write(contact, fields)
        if changed:
            _history(contact, ContactEvent.Kind.UPDATED, actor, fields=changed)
            search_index.reindex_contact(contact)
            webhooks.contact_updated(contact, changed)
    return contact


def create_company(account: Account, *, actor: User | None = None, **fields: Any) -> Company:
    with transaction.atomic():
        company = Company(account=account)
        _write(company, fields)
    return company


def update_company(company: Company, *, actor: User | None = None, **fields: Any) -> Company:
    with transaction.atomic():
        _write(company, fields)
        search_index.reindex_company(company)
    return company


def _write(party: Party, fields: Mapping[str, Any]) -> list[str]:
    """Writes ``fields`` into a contact or company; answers the names of the keys written."""
    is_contact = isinstance(party, Contact)
    names = CONTACT_FIELDS if is_contact else COMPANY_FIELDS
    written = [n for n in (*names, "emails", "phones", "groups", "custom_fields") if n in fields]
    if is_contact and "tags" in fields:
        written.append("tags")
    # A display name that was only the default follows the fields it came from.
    derived = party.pk is not None and party.system_name == _default_name(party, None)
    for name in names:
        if name in fields:
            setattr(party, name, _cleared(party, name, fields[name]))
    party.countrycode = party.countrycode.upper()
    party.language = party.language.lower()
    if party.time_zone and party.time_zone in zone_names():
        party.time_offset = utc_offset_seconds(party.time_zone)
    if "custom_fields" in fields:
        target = CustomField.Target.CONTACT if is_contact else CustomField.Target.COMPANY
        party.custom_fields = CustomField.merge_values(
            target, party.custom_fields, fields["custom_fields"] or {}
        )
    emails = _clean_emails(fields["emails"] or []) if "emails" in fields else None
    if not party.system_name or (derived and "system_name" not in fields):
        party.system_name = _default_name(party, emails)
    party.date_changed = timezone.now()
    validate(party, exclude=["public_id", "company"])
    party.save()
    if emails is not None:
        _replace_emails(party, emails)
    if "phones" in fields:
        owner = _owner_kwargs(party)
        ContactPhone.objects.filter(**owner).delete()
        ContactPhone.objects.bulk_create(
            ContactPhone(account_id=party.account_id, phone=str(p).strip(), position=i, **owner)
            for i, p in enumerate(fields["phones"] or [])
            if str(p).strip()
        )
    if "groups" in fields:
        party.groups.set(fields["groups"] or [])  # type: ignore[attr-defined]
    if isinstance(party, Contact) and "tags" in fields:
        _set_contact_tags(party, fields["tags"] or [])
    return written


def _cleared(party: Party, name: str, value: Any) -> Any:
    """``None`` clears: empty text for text fields, null where the column allows it."""
    if value is not None:
        return value
    field = party._meta.get_field(name)
    if field.null:
        return None
    if name == "gender":
        return Gender.UNSPECIFIED
    return ""


def _default_name(party: Party, emails: list[str] | None) -> str:
    """``system_name`` defaults to first + last name (a company's name), else the first e-mail."""
    if isinstance(party, Contact):
        name = f"{party.firstname} {party.lastname}".strip()
    else:
        name = party.name.strip()  # type: ignore[attr-defined]
    if name:
        return name
    if emails is None and party.pk is not None:
        emails = party.email_list()
    return emails[0] if emails else ""


def _clean_emails(emails: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in emails:
        address = str(raw).strip()
        if not address or normalize_email(address) in seen:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ActionError(
                gettext("Not an e-mail address: %(address)s") % {"address": address}
            ) from exc
        seen.add(normalize_email(address))
        cleaned.append(address)
    return cleaned


def _owner_kwargs(party: Party) -> dict[str, Party]:
    return {"contact": party} if isinstance(party, Contact) else {"company": party}


def _replace_emails(party: Party, emails: list[str]) -> None:
    owner = _owner_kwargs(party)
    owner_field = next(iter(owner))
    taken = (
        ContactEmail.objects.filter(
            normalized__in=[normalize_email(e) for e in emails],
            **{f"{owner_field}__isnull": False},
        )
        .exclude(**owner)
        .select_related(owner_field)
        .first()
    )
    if taken is not None:
        other = getattr(taken, owner_field)
        raise ActionError(
            gettext("%(address)s already belongs to %(id)s")
            % {"address": taken.email, "id": other.public_id},
            "conflict",
        )
    ContactEmail.objects.filter(**owner).delete()
    try:
        with transaction.atomic():
            for position, address in enumerate(emails):
                ContactEmail.objects.create(
                    account_id=party.account_id, email=address, position=position, **owner
                )
    except IntegrityError as exc:  # another request took the address meanwhile
        raise ActionError(
            gettext("This e-mail address belongs to someone else."), "conflict"
        ) from exc


def _set_contact_tags(contact: Contact, tags: Iterable[Tag]) -> None:
    tags = list(tags)
    current = set(contact.tags.values_list("pk", flat=True))
    archived = [t.name for t in tags if t.is_archived and t.pk not in current]
    if archived:
        raise ActionError(
            gettext("Archived tags cannot be added: %(names)s") % {"names": ", ".join(archived)}
        )
    contact.tags.set(tags)


def _history(
    contact: Contact, kind: str, actor: User | None, other: Contact | None = None, **details: Any
) -> None:
    if other is not None:
        details["other_id"] = other.public_id
    ContactEvent.objects.create(
        account_id=contact.account_id, contact=contact, kind=kind, actor=actor, other=other,
        details=details,
    )


def find_or_create_contact_by_email(
    account: Account, email: str, *, name: str = "", actor: User | None = None
) -> tuple[Contact, bool]:
    """The contact owning ``email`` (case-insensitive), or a new visitor contact with it.
    Safe against two channels seeing the same new address at once."""
    normalized = normalize_email(email)
    for _attempt in range(2):
        found = (
            ContactEmail.objects.filter(normalized=normalized, contact__isnull=False)
            .select_related("contact")
            .first()
        )
        if found is not None:
            return found.contact, False
        first, _sep, last = name.strip().partition(" ")
        try:
            with transaction.atomic():
                contact = create_contact(
                    account, actor=actor, emails=[email], firstname=first, lastname=last
                )
            return contact, True
        except ActionError as exc:
            if exc.code != "conflict":
                raise
    raise ActionError(gettext("This e-mail address belongs to someone else."), "conflict")


def merge_contacts(keep: Contact, merge_away: Contact, *, actor: User | None = None) -> Contact:
    """Moves everything of ``merge_away`` to ``keep``: tickets, messages, e-mails, phones,
    groups, tags and whatever later apps link to a contact (chats, visits). Blank fields of
    ``keep`` are filled from ``merge_away``, which stays as a tombstone pointing at ``keep``.
    Audited, and recorded in both contacts' histories."""
    if keep.pk == merge_away.pk or keep.account_id != merge_away.account_id:
        raise ActionError(gettext("A contact can only be merged into another contact."))
    if keep.merged_into_id is not None or merge_away.merged_into_id is not None:
        raise ActionError(gettext("This contact was already merged."), "conflict")
    with transaction.atomic():
        for name in (*CONTACT_FIELDS, "registration_email"):
            mine, theirs = getattr(keep, name), getattr(merge_away, name)
            if mine in ("", None, Gender.UNSPECIFIED) and theirs not in ("", None):
                setattr(keep, name, theirs)
        keep.custom_fields = {**merge_away.custom_fields, **keep.custom_fields}
        if keep.registration_email:
            keep.type = ContactType.REGISTERED
        # The tombstone gives up its registration first: the address is unique per account.
        merge_away.registration_email = ""
        merge_away.type = ContactType.VISITOR
        merge_away.merged_into = keep
        merge_away.save()
        for model in (ContactEmail, ContactPhone):
            offset = model.objects.filter(contact=keep).count()
            model.objects.filter(contact=merge_away).update(position=F("position") + offset)
        # Its search document is the one link that must not move to ``keep``.
        search_index.forget_contact(merge_away)
        _repoint(merge_away, keep)
        keep.date_changed = timezone.now()
        keep.save()
        _history(keep, ContactEvent.Kind.MERGED_IN, actor, other=merge_away)
        _history(merge_away, ContactEvent.Kind.MERGED_AWAY, actor, other=keep)
        webhooks.contact_updated(keep, ["merged"])
        webhooks.contact_deleted(merge_away, merged_into=keep)
        # Tickets and addresses moved to ``keep``; the tombstone's document loses them.
        search_index.reindex_contacts(Contact.objects.filter(pk__in=[keep.pk, merge_away.pk]))
        audit.record(
            keep.account, "contact.merged", actor=actor, target=keep,
            merged_away=merge_away.public_id, merged_away_name=merge_away.system_name,
        )
    return keep


def _repoint(old: Contact, new: Contact) -> None:
    """Every foreign key and many-to-many link to ``old`` now points at ``new`` — found through
    the model's relations, so links added by later apps follow without changes here. Each
    contact's own history stays with it."""
    for rel in Contact._meta.get_fields(include_hidden=True):
        if not isinstance(rel, ForeignObjectRel) or rel.related_model is ContactEvent:
            continue
        if rel.many_to_many:
            accessor = rel.get_accessor_name()
            if accessor:  # hidden (``+``) many-to-many links have no accessor to follow
                getattr(new, accessor).add(*getattr(old, accessor).all())
                getattr(old, accessor).clear()
        else:
            name = rel.field.name
            rel.related_model._base_manager.filter(**{name: old}).update(**{name: new})
    for m2m in Contact._meta.many_to_many:
        getattr(new, m2m.name).add(*getattr(old, m2m.name).all())
        getattr(old, m2m.name).clear()


def delete_contact(
    contact: Contact, *, delete_tickets: bool = False, actor: User | None = None
) -> None:
    """Deletes the contact. Its tickets stay (showing the owner's last name and address) or,
    with ``delete_tickets``, go to the trash."""
    with transaction.atomic():
        owned = list(Ticket.objects.filter(owner=contact).values_list("pk", flat=True))
        _release_tickets(Ticket.objects.filter(owner=contact), delete_tickets, actor)
        audit.record(
            contact.account, "contact.deleted", actor=actor, target=contact,
            delete_tickets=delete_tickets,
        )
        webhooks.contact_deleted(contact)
        contact.delete()
        # Its tickets now show the name and address it had (``deleted_owner_*``).
        search_index.reindex_tickets(Ticket.objects.filter(pk__in=owned))


def delete_company(
    company: Company, *, delete_tickets: bool = False, actor: User | None = None
) -> None:
    """Deletes the company; its contacts stay without a company. With ``delete_tickets`` the
    tickets owned by its contacts go to the trash."""
    with transaction.atomic():
        members = list(company.contacts.values_list("pk", flat=True))
        if delete_tickets:
            _release_tickets(Ticket.objects.filter(owner__company=company), True, actor)
        audit.record(
            company.account, "company.deleted", actor=actor, target=company,
            delete_tickets=delete_tickets,
        )
        company.delete()
        search_index.reindex_contacts(Contact.objects.filter(pk__in=members))


def _release_tickets(tickets: models.QuerySet[Ticket], trash: bool, actor: User | None) -> None:
    for ticket in tickets.select_related("owner"):
        if trash and ticket.status != Status.DELETED:
            ticket_actions.change_status(ticket, Status.DELETED, actor=actor)
        if ticket.owner is not None:
            ticket.deleted_owner_name = ticket.owner.system_name
            ticket.deleted_owner_email = ticket.owner.primary_email
            ticket.save(update_fields=["deleted_owner_name", "deleted_owner_email"])


def register(party: Party, registration_email: str, *, actor: User | None = None) -> Party:
    """Makes a contact or company a registered visitor who may log in to the customer portal
    with ``registration_email`` (re-registering changes the address). Sending the portal
    invitation is the portal's job."""
    address = _clean_emails([registration_email])
    if not address:
        raise ActionError(gettext("An e-mail address is required."))
    with transaction.atomic():
        party.type = ContactType.REGISTERED
        party.registration_email = normalize_email(address[0])
        party.date_changed = timezone.now()
        try:
            with transaction.atomic():
                party.save()
        except IntegrityError as exc:
            raise ActionError(
                gettext("%(address)s is already registered to someone else.")
                % {"address": address[0]},
                "conflict",
            ) from exc
        if isinstance(party, Contact):
            _history(party, ContactEvent.Kind.REGISTERED, actor, email=party.registration_email)
            webhooks.contact_updated(party, ["registration_email", "type"])
    return party


def unregister(party: Party, *, actor: User | None = None) -> Party:
    with transaction.atomic():
        party.type = ContactType.VISITOR
        party.registration_email = ""
        party.date_changed = timezone.now()
        party.save()
        if isinstance(party, Contact):
            _history(party, ContactEvent.Kind.UNREGISTERED, actor)
            webhooks.contact_updated(party, ["registration_email", "type"])
    return party


def save_contact_group(
    account: Account, group: ContactGroup | None = None, **fields: Any
) -> ContactGroup:
    return save_record(
        ContactGroup, account, group, fields, ("name", "color", "background_color"),
        conflict=gettext("A group with this name exists already."),
    )


def save_custom_field(
    account: Account, field: CustomField | None = None, **fields: Any
) -> CustomField:
    writable = ("name", "type", "choices", "position") if field else (
        "target", "code", "name", "type", "choices", "position"
    )
    return save_record(
        CustomField, account, field, fields, writable,
        conflict=gettext("A custom field with this code exists already."),
    )


def delete_custom_field(field: CustomField, *, actor: User | None = None) -> None:
    """Deletes the definition and its values on every owner."""
    owners: dict[str, type[models.Model]] = {
        CustomField.Target.CONTACT: Contact,
        CustomField.Target.COMPANY: Company,
        CustomField.Target.TICKET: Ticket,
    }
    with transaction.atomic():
        for owner in owners[field.target].objects.filter(custom_fields__has_key=field.code):  # type: ignore[attr-defined]
            owner.custom_fields.pop(field.code, None)
            owner.save(update_fields=["custom_fields"])
        audit.record(field.account, "custom_field.deleted", actor=actor, target=field)
        field.delete()
