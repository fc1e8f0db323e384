from django import forms
from django.utils.translation import gettext_lazy as _

from saruna.visitors.actions import RULE_FIELDS, SETTINGS_FIELDS
from saruna.visitors.models import InvitationRule, TrackingSettings
from saruna.visitors.sources import SOURCE_LABELS


class TrackingSettingsForm(forms.ModelForm):
    class Meta:
        model = TrackingSettings
        fields = SETTINGS_FIELDS
        widgets = {"ga_api_secret": forms.PasswordInput(render_value=True)}


class InvitationRuleForm(forms.ModelForm):
    source_type = forms.ChoiceField(
        label=_("traffic source"), required=False,
        choices=[("", _("Any")), *((key, label) for key, label in SOURCE_LABELS.items())],
    )
    returning = forms.NullBooleanField(
        label=_("visitors"), required=False,
        widget=forms.Select(choices=[("unknown", _("Any")), ("true", _("Returning only")),
                                     ("false", _("New only"))]),
    )

    class Meta:
        model = InvitationRule
        fields = RULE_FIELDS
