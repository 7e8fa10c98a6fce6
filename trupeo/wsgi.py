import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trupeo.settings")
application = get_wsgi_application()


def _freeze_what_lives_forever() -> None:
    """Import every view now, then keep all that is loaded (Django, the apps, the URL
    configuration) out of the garbage collector's sight: it lives as long as the worker, and
    the collections that run during requests no longer walk it (measured in bench/)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports the URL configuration and its views)
    gc.freeze()


_freeze_what_lives_forever()
