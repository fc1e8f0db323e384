"""The PDF of an invoice or credit note, with what an EU invoice must show (Directive
2006/112/EC, Art. 226): number and date, both parties' names, addresses and VAT numbers,
what was supplied and for which period, unit prices, the taxable amount and VAT per rate,
the reverse-charge wording where it applies, and for a credit note the invoice it cancels.

Rendered from the finalised document alone, so the same document always gives the same
content. Open Sans (from its PyPI package) covers Latvian and other European letters."""

from __future__ import annotations

import logging

from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from ttf_opensans import OPENSANS_BOLD, OPENSANS_REGULAR

from saruna.billing.models import BillingDocument
from saruna.billing.money import format_amount

FONT = "OpenSans"
# fpdf2 subsets the font with fontTools, which logs every glyph list at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


def _party(details: dict) -> list[str]:
    lines = [details.get("company") or "", details.get("name") or ""]
    lines += details.get("address_lines") or []
    lines.append(details.get("country") or "")
    if details.get("registration_number"):
        lines.append(_("Registration number: %(number)s") % {
            "number": details["registration_number"]})
    if details.get("vat_number"):
        lines.append(_("VAT number: %(number)s") % {"number": details["vat_number"]})
    if details.get("email"):
        lines.append(details["email"])
    return [line for line in lines if line]


def render(document: BillingDocument) -> bytes:
    with translation.override(document.language):
        return _render(document)


def _render(document: BillingDocument) -> bytes:
    money = document.currency
    pdf = FPDF(format="A4")
    pdf.set_title(document.number or "")
    pdf.set_creation_date(document.issued_at)
    pdf.add_font(FONT, "", str(OPENSANS_REGULAR.path))
    pdf.add_font(FONT, "B", str(OPENSANS_BOLD.path))
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    title = _("Invoice") if document.kind == BillingDocument.Kind.INVOICE else _("Credit note")
    pdf.cell(0, 10, f"{title} {document.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, _("Date of issue: %(day)s") % {"day": document.issue_date},
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.credits is not None:
        pdf.cell(0, 6, _("Cancels invoice %(number)s of %(day)s") % {
            "number": document.credits.number, "day": document.credits.issue_date},
            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.replaces is not None:
        pdf.cell(0, 6, _("Replaces invoice %(number)s of %(day)s") % {
            "number": document.replaces.number, "day": document.replaces.issue_date},
            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.reason:
        pdf.multi_cell(0, 6, document.reason, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    top = pdf.get_y()
    for x, heading, details in ((10, _("Seller"), document.seller),
                                (110, _("Customer"), document.buyer)):
        pdf.set_xy(x, top)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(90, 6, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(90, 5, "\n".join(_party(details)), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(10, max(pdf.get_y(), top + 45))
    pdf.ln(4)

    with pdf.table(
        col_widths=(60, 52, 14, 30, 34), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row([_("Description"), _("Period"), _("Qty"), _("Unit price"), _("Amount")])
        for line in document.lines.all():
            description = line.description
            if line.days_left is not None:
                description += "\n" + _("%(left)d of %(days)d days of the period") % {
                    "left": line.days_left, "days": line.days_in_period}
            period = _("%(start)s to %(end)s") % {
                "start": line.period_start, "end": line.period_end} if line.period_start else ""
            table.row([description, period, str(line.quantity),
                       format_amount(line.unit_cents, money),
                       format_amount(line.amount_cents, money)])
    pdf.ln(4)

    rate = f"{document.vat_rate.normalize():f}"
    vat_label = _("VAT %(rate)s%%") % {"rate": rate}
    if document.vat_country:
        vat_label += f" ({document.vat_country})"
    for label, cents, bold in (
        (_("Taxable amount"), document.subtotal_cents, False),
        (vat_label, document.tax_cents, False),
        (_("Total"), document.total_cents, True),
    ):
        pdf.set_font(FONT, "B" if bold else "", 11 if bold else 10)
        pdf.cell(156, 7, label, align="R")
        pdf.cell(34, 7, format_amount(cents, money), align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.vat_eur_cents is not None and document.eur_rate is not None:
        pdf.set_font(FONT, "", 9)
        pdf.cell(0, 6, _("VAT in EUR: %(amount)s (ECB rate %(rate)s of %(day)s)") % {
            "amount": format_amount(document.vat_eur_cents, "EUR"),
            "rate": f"{document.eur_rate.normalize():f}", "day": document.eur_rate_date},
            align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.vat_note:
        pdf.ln(4)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, document.vat_note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
