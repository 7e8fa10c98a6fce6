"""The public site: the landing page and waitlist, the privacy policy and legal texts, the
contact form, the consent banner and audience tags, Turnstile and the forms' rate limits.

Visitors belong to no workspace: what they send is sealed under the site key (`site_keys`).
May import `privacy.models`, `privacy.tasks` (to queue), accounts and trupeo; never
`privacy.gdpr` — a GDPR request filed through the contact form reaches GDPR operations
through the `contact_gdpr_request` signal (`signals.py`).
"""
