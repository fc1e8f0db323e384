"""Where a visit came from: the traffic source of its landing page and referrer.

Order of evidence: a paid click id or a paid UTM medium wins, then the UTM medium (e-mail,
social), then the referrer's host (search engine, social network, another site), then a UTM
campaign without a referrer; nothing at all is a direct visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.utils.translation import gettext_lazy as _

DIRECT = "direct"
ORGANIC = "organic"
PAID = "paid"
SOCIAL = "social"
EMAIL = "email"
REFERRAL = "referral"
CAMPAIGN = "campaign"

SOURCE_LABELS = {
    DIRECT: _("Direct"),
    ORGANIC: _("Organic search"),
    PAID: _("Paid"),
    SOCIAL: _("Social"),
    EMAIL: _("E-mail"),
    REFERRAL: _("Referral"),
    CAMPAIGN: _("Campaign"),
}

# Registrable-name fragments of search engines and social networks: "google" matches
# google.com, google.co.uk, www.google.lv.
SEARCH_ENGINES = {
    "google": "Google", "bing": "Bing", "yahoo": "Yahoo", "duckduckgo": "DuckDuckGo",
    "yandex": "Yandex", "baidu": "Baidu", "ecosia": "Ecosia", "qwant": "Qwant",
    "startpage": "Startpage", "search.brave": "Brave", "naver": "Naver", "seznam": "Seznam",
}
SOCIAL_NETWORKS = {
    "facebook": "Facebook", "instagram": "Instagram", "twitter": "X", "linkedin": "LinkedIn",
    "youtube": "YouTube", "reddit": "Reddit", "pinterest": "Pinterest", "tiktok": "TikTok",
    "draugiem": "Draugiem", "mastodon": "Mastodon", "threads": "Threads",
    "whatsapp": "WhatsApp", "telegram": "Telegram",
}
# Short names that are only safe as whole hosts.
SOCIAL_HOSTS = {"x.com": "X", "t.co": "X", "fb.com": "Facebook", "fb.me": "Facebook",
                "lnkd.in": "LinkedIn", "vk.com": "VK", "t.me": "Telegram", "youtu.be": "YouTube"}
PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "cpm",
                "display", "paid_social", "paidsocial", "paid-social", "cpv", "banner"}
PAID_CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid_paid", "dclid", "ttclid")
EMAIL_MEDIUMS = {"email", "e-mail", "e_mail", "newsletter"}
SOCIAL_MEDIUMS = {"social", "social-network", "social_network", "sm"}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class Source:
    type: str
    name: str = ""

    @property
    def label(self) -> str:
        label = str(SOURCE_LABELS.get(self.type, self.type))
        return f"{label}: {self.name}" if self.name else label


def utm_parameters(url: str) -> dict[str, str]:
    query = parse_qs(urlsplit(url).query)
    return {key: query[key][0][:100] for key in UTM_KEYS if query.get(key)}


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.").removeprefix("m.")


def _known(host: str, table: dict[str, str]) -> str:
    """The name of the first entry whose fragment is a whole label run of ``host``."""
    labels = host.split(".")
    for fragment, name in table.items():
        parts = fragment.split(".")
        for start in range(len(labels) - len(parts) + 1):
            if labels[start:start + len(parts)] == parts:
                return name
    return ""


def _network(host: str) -> str:
    return SOCIAL_HOSTS.get(host, "") or _known(host, SOCIAL_NETWORKS)


def classify(url: str, referrer: str, site_host: str = "") -> Source:
    """The traffic source of a landing page ``url`` reached from ``referrer``; a referrer on
    ``site_host`` (the host page's own site) counts as none."""
    utm = utm_parameters(url)
    query = parse_qs(urlsplit(url).query)
    medium = utm.get("utm_medium", "").lower()
    utm_source = utm.get("utm_source", "")
    referrer_host = _host(referrer)
    if referrer_host and site_host and referrer_host == _host("//" + site_host):
        referrer_host = ""
    if any(query.get(key) for key in PAID_CLICK_IDS) or medium in PAID_MEDIUMS:
        name = utm_source or _known(referrer_host, SEARCH_ENGINES) or (
            "Google" if query.get("gclid") else "")
        return Source(PAID, name)
    if medium in EMAIL_MEDIUMS:
        return Source(EMAIL, utm_source)
    if medium in SOCIAL_MEDIUMS:
        return Source(SOCIAL, SOCIAL_NETWORKS.get(utm_source.lower(), "")
                      or _network(referrer_host) or utm_source)
    if referrer_host:
        engine = _known(referrer_host, SEARCH_ENGINES)
        if engine:
            return Source(ORGANIC, engine)
        network = _network(referrer_host)
        if network:
            return Source(SOCIAL, network)
        if utm.get("utm_campaign"):
            return Source(CAMPAIGN, utm["utm_campaign"])
        return Source(REFERRAL, referrer_host)
    if utm.get("utm_campaign") or utm_source:
        return Source(CAMPAIGN, utm.get("utm_campaign") or utm_source)
    return Source(DIRECT)
