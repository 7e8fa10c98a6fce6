"""The mail pipeline, apart from the UI.

provider → sync → parse → thread → seal → store → index; reply → compose → send. It may import
inbox.models, inbox.fields, accounts and trupeo, never the UI side of inbox (views, actions,
selectors, template tags); the UI side reacts to it through the signals of inbox.mail.signals.
"""
