"""Device fingerprints and labels."""

from saruna.accounts.devices import identify

FIREFOX_128 = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_129 = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
# Chromium on Android hides the model in its user agent ("K"); the client hint names it.
ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)


def android_hints(model: str, brand_version: str = "126") -> dict[str, str]:
    return {
        "Sec-CH-UA": f'"Chromium";v="{brand_version}", "Google Chrome";v="{brand_version}", '
                     f'"Not-A.Brand";v="8"',
        "Sec-CH-UA-Mobile": "?1",
        "Sec-CH-UA-Platform": '"Android"',
        "Sec-CH-UA-Model": f'"{model}"',
    }


def test_labels_people_recognise():
    assert identify(FIREFOX_128, {}).label == "Firefox on Ubuntu"
    assert identify(IPHONE, {}).label == "Mobile Safari on iOS, Apple iPhone"
    assert identify(ANDROID_REDUCED, android_hints("Pixel 8")).label == (
        "Chrome Mobile on Android, Pixel 8"
    )
    assert identify("", {}).label == "Unknown device"


def test_browser_update_keeps_the_device():
    assert identify(FIREFOX_128, {}).fingerprint == identify(FIREFOX_129, {}).fingerprint
    assert (
        identify(ANDROID_REDUCED, android_hints("Pixel 8", "126")).fingerprint
        == identify(ANDROID_REDUCED.replace("126", "127"), android_hints("Pixel 8", "127"))
        .fingerprint
    )


def test_different_devices_differ():
    fingerprints = {
        identify(FIREFOX_128, {}).fingerprint,
        identify(IPHONE, {}).fingerprint,
        identify(ANDROID_REDUCED, android_hints("Pixel 8")).fingerprint,
        identify(ANDROID_REDUCED, android_hints("SM-S918B")).fingerprint,
    }
    assert len(fingerprints) == 4


def test_header_names_are_case_insensitive():
    hints = android_hints("Pixel 8")
    lower = {k.lower(): v for k, v in hints.items()}
    assert identify(ANDROID_REDUCED, hints) == identify(ANDROID_REDUCED, lower)
