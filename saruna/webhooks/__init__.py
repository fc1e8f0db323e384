"""Outgoing webhooks: signed event deliveries to an account's own URLs, with retries, a
delivery log and a guard against requests into private networks."""
