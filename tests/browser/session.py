"""Signing in through the real login page, as a person would."""

from tests.factories import PASSWORD


def log_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in (by default with the factories' password); returns once the inbox is shown.
    The page's context has the site's base URL: the live server's, or the local trial's."""
    page.goto("/accounts/login/")
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/")
