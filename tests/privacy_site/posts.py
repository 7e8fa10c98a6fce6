"""What a visitor posts to the public site's forms."""


def contact_post(token: str, **fields) -> dict:
    """A contact form as a visitor fills it, with the Turnstile `token`; `fields` override."""
    return {
        "name": "Élodie Marchand",
        "email": "elodie.marchand@college-exemple.fr",
        "subject": "question",
        "message": "Bonjour, combien coûte Trupeo pour douze personnes ?",
        "cf-turnstile-response": token,
        **fields,
    }
