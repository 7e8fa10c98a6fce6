"""gunicorn's access log without the secrets of links.

Each access line carries the path and the Referer: an invitation, address-confirmation or
password-reset link would otherwise land in the logs whole (`--logger-class` in
docker-compose.yml).
"""

from gunicorn.glogging import Logger

from trupeo.error_reports import mask_link_secrets


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: mask_link_secrets(v) if isinstance(v, str) else v for k, v in atoms.items()}
