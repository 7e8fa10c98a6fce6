"""GDPR operations: requests and their deadlines, exports, deletion and its ledger, retention,
backups and their keys, the breach register, the data-processing terms accepted, the orphan
sweep, mail to staff, and the "Your data" and processor-terms pages of the application.

May import `privacy.models`, `privacy.tasks` (to queue), `privacy.site` (the site key, the
public paths and texts), accounts, trupeo, and the public functions of inbox and billing.
"""
