"""Outgoing webhooks: signed HTTPS deliveries of what happens in a workspace."""
