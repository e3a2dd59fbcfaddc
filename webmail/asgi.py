"""ASGI entry point: the push service (``uvicorn webmail.asgi:application``).

Only the event stream (``/push/stream/``) is meant to be served here: the balancer sends that
path to this service and everything else to gunicorn (README, "Push"). The same Django project
answers every URL, so a misrouted request still works.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")
application = get_asgi_application()
