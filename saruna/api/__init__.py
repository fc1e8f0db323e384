"""The REST API: LiveAgent v3 wire-compatible resources under ``/api/v3``, API keys,
rate limits and outgoing webhooks."""
