"""Domains of free mail services: an address there says nothing of an organisation.

A short list of the services people in France (and everywhere) use; a domain not listed here
gives its contacts an organisation, which the team can rename or detach.
"""

_LISTED = """
    gmail.com googlemail.com outlook.com outlook.fr hotmail.com hotmail.fr live.com live.fr
    msn.com yahoo.com yahoo.fr ymail.com icloud.com me.com mac.com aol.com aol.fr gmx.com
    gmx.fr gmx.de web.de mail.com proton.me protonmail.com pm.me tutanota.com tuta.io
    zoho.com yandex.com yandex.ru mail.ru fastmail.com hey.com
    orange.fr wanadoo.fr free.fr sfr.fr neuf.fr laposte.net bbox.fr numericable.fr noos.fr
    club-internet.fr aliceadsl.fr cegetel.net voila.fr caramail.com libertysurf.fr
    tiscali.fr dbmail.com netcourrier.com
"""
FREE_MAIL_DOMAINS = frozenset(_LISTED.split())


def is_free_mail(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS
