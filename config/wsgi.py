import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
# Import every view now, while the server starts, rather than in the first
# request each worker serves: the learner's views bring torch and
# scikit-learn, several seconds of imports.
import_module(settings.ROOT_URLCONF)
