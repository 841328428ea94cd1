"""A refused request (403) is one line in the log, without the traceback that hid real errors."""

import logging

from django.urls import reverse


def test_a_403_is_logged_without_a_traceback(client, project, annotator, caplog):
    client.force_login(annotator)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("review", args=[project.pk]))
    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage().startswith("Forbidden")
    assert record.exc_info is None


def test_a_server_error_keeps_its_traceback(caplog):
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        try:
            raise RuntimeError("boom")
        except RuntimeError as error:
            logger.error("Internal Server Error: /x", exc_info=error, extra={"status_code": 500})
    (record,) = caplog.records
    assert record.exc_info is not None
