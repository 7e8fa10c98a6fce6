"""Realistic French demo mail for `manage.py seed_demo`: raw MIME, fed through the real pipeline."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

DEMO_DOMAIN = "lycee-demo.fr"


@dataclass(frozen=True)
class Scenario:
    sender_name: str
    sender: str
    subject: str
    body: str
    reply: str | None = None
    customer_followup: str | None = None
    attachment: tuple[str, str, bytes] | None = None
    html: str | None = None  # an HTML alternative to `body` (remote images show the blocking)


# A newsletter as mail clients receive them: its images live on the sender's site, so they
# stay blocked until someone asks for them (the image server learns nothing before that).
NEWSLETTER_HTML = """<!DOCTYPE html>
<html lang="fr"><body style="font-family: Arial, sans-serif; color: #1d2b36;">
<table role="presentation" width="100%" style="max-width: 600px; margin: 0 auto;">
<tr><td><img src="https://www.cdi-nantes-demo.fr/lettre/bandeau-decembre.png" alt="Lettre du CDI"
  width="600" height="120"></td></tr>
<tr><td><h1 style="color: #8a1c4a;">La lettre du CDI — décembre</h1>
<p>Bonjour à toutes et à tous,</p>
<p>Ce mois-ci : le <strong>prix des lycéens</strong> (votez avant le 18 décembre), trois
nouveaux mangas au fonds, et l'exposition « Sciences &amp; fiction » dans le hall.</p>
<p><img src="https://www.cdi-nantes-demo.fr/lettre/expo-sciences-fiction.jpg"
  alt="Affiche de l'exposition" width="280" height="180"></p>
<p>Bonne lecture,<br>Claire Petit, professeure documentaliste</p>
<p style="font-size: 12px; color: #6b7780;">Vous recevez cette lettre car vous êtes
abonné·e à la liste du CDI.
<img src="https://stats.cdi-nantes-demo.fr/ouverture.gif?id=8841" width="1" height="1" alt=""></p>
</td></tr></table></body></html>
"""

SCENARIOS = [
    Scenario(
        "Sophie Lefèvre",
        "sophie.lefevre@orange.fr",
        "Absence de Lucas (2nde B) jeudi et vendredi",
        "Bonjour,\n\nMon fils Lucas Lefèvre, en 2nde B, sera absent jeudi et vendredi pour "
        "raison médicale. Vous trouverez le certificat en pièce jointe.\n\nPourriez-vous "
        "transmettre l'information à son professeur principal ?\n\nBien cordialement,\n"
        "Sophie Lefèvre",
        reply="Bonjour Madame Lefèvre,\n\nC'est bien noté, l'absence de Lucas est enregistrée "
        "et M. Garnier est prévenu.\n\nBonne journée,\nLa vie scolaire",
        attachment=("certificat-médical.pdf", "application/pdf", b"%PDF-1.4\n% demo\n"),
    ),
    Scenario(
        "Karim Benali",
        "k.benali@gmail.com",
        "Inscription en 1ère spécialité NSI",
        "Bonjour,\n\nJe souhaiterais savoir s'il reste des places en spécialité NSI pour la "
        "rentrée de ma fille Inès, actuellement en seconde dans un autre établissement.\n\n"
        "Quels documents dois-je fournir ?\n\nMerci d'avance,\nKarim Benali",
        reply="Bonjour Monsieur Benali,\n\nIl reste quelques places. Il nous faut le dernier "
        "bulletin, un justificatif de domicile et la fiche d'inscription jointe.\n\nCordialement,"
        "\nLe secrétariat",
        customer_followup="Merci beaucoup, je vous envoie tout cela d'ici vendredi.\n\nK. Benali",
    ),
    Scenario(
        "Transports Atlantique",
        "facturation@transports-atlantique.fr",
        "Facture n° FA-2026-1142 — sortie pédagogique du 14 novembre",
        "Madame, Monsieur,\n\nVeuillez trouver ci-joint la facture FA-2026-1142 relative au "
        "transport de la sortie pédagogique au Mémorial de Caen.\n\nMontant : 1 240,00 € TTC, "
        "payable à 30 jours.\n\nService facturation",
        attachment=("FA-2026-1142.pdf", "application/pdf", b"%PDF-1.4\n% facture demo\n"),
    ),
    Scenario(
        "Élodie Moreau",
        "elodie.moreau@free.fr",
        "Demande de rendez-vous avec la CPE",
        "Bonjour,\n\nJe souhaiterais rencontrer Mme Dubois au sujet du comportement de ma fille "
        "Chloé (1ère G3) en cours. Seriez-vous disponible la semaine prochaine, de préférence "
        "en fin de journée ?\n\nCordialement,\nÉlodie Moreau",
        reply="Bonjour Madame Moreau,\n\nMme Dubois peut vous recevoir mardi à 17 h 30 ou "
        "jeudi à 18 h. Quel créneau vous convient ?\n\nBien à vous,\nLa vie scolaire",
        customer_followup="Mardi 17 h 30 me convient très bien. Merci !",
    ),
    Scenario(
        "Mairie de Nantes — Service jeunesse",
        "jeunesse@mairie-nantes.fr",
        "Forum des métiers : inscription des classes de terminale",
        "Bonjour,\n\nLe forum des métiers se tiendra le 12 décembre à la Cité des Congrès. "
        "Merci de nous indiquer avant le 30 novembre le nombre d'élèves de terminale qui "
        "participeront, ainsi que les accompagnateurs.\n\nLe service jeunesse",
    ),
    Scenario(
        "Thomas Girard",
        "thomas.girard@laposte.net",
        "Perte de carte de cantine",
        "Bonjour,\n\nMon fils Hugo (3ème A) a perdu sa carte de cantine. Comment obtenir un "
        "duplicata ? Est-ce payant ?\n\nMerci,\nThomas Girard",
        reply="Bonjour Monsieur Girard,\n\nHugo peut passer à l'intendance avec 5 € ; la "
        "nouvelle carte est faite sur place.\n\nCordialement,\nL'intendance",
    ),
    Scenario(
        "Nathalie Rousseau",
        "n.rousseau@ac-nantes.fr",
        "Conseil de classe 2nde C — ordre du jour",
        "Bonjour à tous,\n\nVoici l'ordre du jour du conseil de classe de 2nde C du 3 décembre. "
        "Merci de compléter vos appréciations sur l'ENT d'ici lundi.\n\nNathalie Rousseau, "
        "professeure principale",
        attachment=(
            "ordre du jour — conseil 2nde C.txt",
            "text/plain",
            "1. Bilan général\n2. Cas individuels\n3. Questions diverses\n".encode(),
        ),
    ),
    Scenario(
        "Julien Faure",
        "julien.faure@outlook.fr",
        "Re: Voyage scolaire à Berlin — acompte",
        "Bonjour,\n\nJ'ai bien effectué le virement de l'acompte de 150 € pour le voyage de "
        "ma fille Emma. Pouvez-vous me confirmer la bonne réception ?\n\nJulien Faure",
        reply="Bonjour Monsieur Faure,\n\nNous confirmons la réception de l'acompte. Le solde "
        "sera à régler avant le 15 janvier.\n\nL'intendance",
    ),
    Scenario(
        "Agence Ouest Impression",
        "devis@ouest-impression.fr",
        "Devis impression bulletins et brochures 2027",
        "Bonjour,\n\nSuite à votre demande, voici notre devis pour l'impression de 1 200 "
        "brochures de présentation (A4, quadri, 8 pages) : 1 860 € HT.\n\nDélai : 10 jours "
        "ouvrés après validation du BAT.\n\nBien cordialement,\nL'équipe Ouest Impression",
    ),
    Scenario(
        "Amélie Chevalier",
        "amelie.chevalier@sfr.fr",
        "Bourse de lycée — dossier incomplet ?",
        "Bonjour,\n\nJ'ai reçu un courrier indiquant que le dossier de bourse de mon fils "
        "Maxime est incomplet, mais je ne sais pas quelle pièce manque. Pouvez-vous "
        "m'éclairer ?\n\nMerci d'avance,\nAmélie Chevalier",
    ),
    Scenario(
        "Paul Mercier",
        "paul.mercier@gmail.com",
        "Certificat de scolarité pour la CAF",
        "Bonjour,\n\nPourriez-vous m'envoyer un certificat de scolarité pour ma fille Léa "
        "Mercier (Tle STMG 2) ? La CAF me le réclame.\n\nMerci beaucoup,\nPaul Mercier",
        reply="Bonjour Monsieur Mercier,\n\nVous trouverez le certificat demandé en pièce "
        "jointe.\n\nBonne journée,\nLe secrétariat",
    ),
    Scenario(
        "Association sportive",
        "as@lycee-demo.fr",
        "Championnat UNSS de handball : autorisations parentales",
        "Bonjour,\n\nLes autorisations parentales pour le championnat UNSS du 6 décembre sont "
        "à rendre avant mercredi. Il en manque encore 7 pour l'équipe cadettes.\n\nSportivement,"
        "\nM. Lambert",
    ),
    Scenario(
        "CDI du lycée",
        "cdi@lycee-demo.fr",
        "La lettre du CDI — décembre",
        "La lettre du CDI — décembre\n\nCe mois-ci : le prix des lycéens (votez avant le 18 "
        "décembre), trois nouveaux mangas au fonds, et l'exposition « Sciences & fiction » "
        "dans le hall.\n\nBonne lecture,\nClaire Petit, professeure documentaliste",
        html=NEWSLETTER_HTML,
    ),
]


def _message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    html: str | None = None,
) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    message_id = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(references or [in_reply_to])
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    if attachment:
        name, content_type, payload = attachment
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return message_id, msg.as_bytes()


@dataclass(frozen=True)
class DemoMail:
    key: str
    folder: str  # "inbox" or "sent"
    raw: bytes
    date: datetime


def demo_mail(*, shared_address: str, now: datetime) -> list[DemoMail]:
    """Every scenario as raw messages: the parent's mail, our reply, their follow-up."""
    mails: list[DemoMail] = []
    team = f"Vie scolaire <{shared_address}>"
    for n, s in enumerate(SCENARIOS):
        start = now - timedelta(hours=7 * n + 2, minutes=13 * n)
        first_id, raw = _message(
            sender=f"{s.sender_name} <{s.sender}>",
            to=shared_address,
            subject=s.subject,
            body=s.body,
            date=start,
            attachment=s.attachment,
            html=s.html,
        )
        mails.append(DemoMail(f"demo:{n}:1", "inbox", raw, start))
        if s.reply:
            reply_at = start + timedelta(minutes=47)
            reply_id, raw = _message(
                sender=team,
                to=f"{s.sender_name} <{s.sender}>",
                subject=f"Re: {s.subject}",
                body=s.reply,
                date=reply_at,
                in_reply_to=first_id,
            )
            mails.append(DemoMail(f"demo:{n}:2", "sent", raw, reply_at))
            if s.customer_followup:
                follow_at = reply_at + timedelta(hours=1, minutes=5)
                _id, raw = _message(
                    sender=f"{s.sender_name} <{s.sender}>",
                    to=shared_address,
                    subject=f"Re: {s.subject}",
                    body=s.customer_followup,
                    date=follow_at,
                    in_reply_to=reply_id,
                    references=[first_id, reply_id],
                )
                mails.append(DemoMail(f"demo:{n}:3", "inbox", raw, follow_at))
    return mails
