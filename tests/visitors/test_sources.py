"""Traffic source classification."""

import pytest

from saruna.visitors.sources import classify


@pytest.mark.parametrize(("url", "referrer", "expected"), [
    ("https://shop.test/", "", ("direct", "")),
    ("https://shop.test/", "https://shop.test/other", ("direct", "")),
    ("https://shop.test/", "https://www.google.co.uk/search?q=shoes", ("organic", "Google")),
    ("https://shop.test/", "https://duckduckgo.com/", ("organic", "DuckDuckGo")),
    ("https://shop.test/", "https://www.bing.com/search?q=x", ("organic", "Bing")),
    ("https://shop.test/?gclid=abc", "https://www.google.com/", ("paid", "Google")),
    ("https://shop.test/?utm_source=bing&utm_medium=cpc", "", ("paid", "bing")),
    ("https://shop.test/", "https://l.facebook.com/l.php", ("social", "Facebook")),
    ("https://shop.test/", "https://t.co/xyz", ("social", "X")),
    ("https://shop.test/", "https://www.linkedin.com/feed/", ("social", "LinkedIn")),
    ("https://shop.test/?utm_source=facebook&utm_medium=social", "", ("social", "Facebook")),
    ("https://shop.test/?utm_source=spring-news&utm_medium=email", "", ("email", "spring-news")),
    ("https://shop.test/", "https://blog.example.org/post", ("referral", "blog.example.org")),
    ("https://shop.test/", "https://box.x.org/", ("referral", "box.x.org")),
    ("https://shop.test/?utm_campaign=spring&utm_source=partner", "", ("campaign", "spring")),
    ("https://shop.test/?utm_campaign=spring", "https://partner.example/", ("campaign", "spring")),
])
def test_sources(url, referrer, expected):
    source = classify(url, referrer, "shop.test")
    assert (source.type, source.name) == expected


def test_label_names_the_engine():
    assert classify("https://s.test/", "https://www.google.lv/").label == "Organic search: Google"
