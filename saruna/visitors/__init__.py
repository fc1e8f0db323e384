"""Website visitors: identity tokens, tracking, page visits, traffic sources, geolocation,
proactive invitations and conversion tracking."""
