from django import forms
from django.utils.translation import gettext_lazy as _

from saruna.contactforms.forms import DescribedErrors
from saruna.web.forms import SiteForm


class LoginForm(DescribedErrors, SiteForm):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ReplyForm(DescribedErrors, SiteForm):
    body = forms.CharField(label=_("Your reply"), max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 6}))
