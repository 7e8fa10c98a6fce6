"""Signing in through the real login page, as a person would."""

from tests.factories import PASSWORD


def log_in(page, email: str) -> None:
    """Sign in with the factories' password; returns once the inbox is shown."""
    page.goto("/accounts/login/")
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/")
