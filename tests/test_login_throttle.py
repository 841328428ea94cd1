"""Wrong passwords lock the HTML login per account and per client; a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from config.security import client_ip
from tests.api_support import clear_throttles  # noqa: F401

LOGIN = "/accounts/login/"


def log_in(client, username: str, password: str, **headers: str):
    return client.post(LOGIN, {"username": username, "password": password}, **headers)


@pytest.fixture
def limit(settings) -> int:
    settings.AXES_FAILURE_LIMIT = 4
    return 4


@pytest.mark.django_db
def test_after_the_limit_even_the_right_password_is_refused_with_a_message(client, annotator, limit):
    for _ in range(limit - 1):
        assert log_in(client, "annie", "wrong").status_code == 200
    refused = log_in(client, "annie", "wrong")
    assert refused.status_code == 429
    right = log_in(client, "annie", "pw-annie")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert b"Too many failed logins" in right.content
    assert b'id="login-throttled"' in right.content
    assert int(right["Retry-After"]) > 0


@pytest.mark.django_db
def test_the_account_is_locked_whatever_address_the_attempts_come_from(client, annotator, limit):
    for n in range(limit):
        log_in(client, "annie", "wrong", REMOTE_ADDR=f"198.51.100.{n}")
    assert log_in(client, "annie", "pw-annie", REMOTE_ADDR="198.51.100.200").status_code == 429


@pytest.mark.django_db
def test_one_client_trying_many_accounts_is_locked_out(client, annotator, manager, limit):
    for n in range(limit):
        log_in(client, f"nobody{n}", "wrong")
    # Another account's right password from the same address is refused too.
    assert log_in(client, "manny", "pw-manny").status_code == 429
    # The same account from elsewhere is not locked: it had no failures.
    assert log_in(client, "manny", "pw-manny", REMOTE_ADDR="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_reset_the_client_count(client, annotator, manager, limit):
    for n in range(limit):
        log_in(client, f"nobody{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert log_in(client, "manny", "pw-manny", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


@pytest.mark.django_db
def test_a_right_password_before_the_limit_logs_in_and_clears_the_count(client, annotator, limit):
    for _ in range(limit - 1):
        log_in(client, "annie", "wrong")
    assert log_in(client, "annie", "pw-annie").status_code == 302
    client.logout()
    for _ in range(limit - 1):
        assert log_in(client, "annie", "wrong").status_code == 200


@pytest.mark.django_db
def test_the_api_token_endpoint_shares_the_lock(client, annotator, limit):
    for _ in range(limit):
        log_in(client, "annie", "wrong")
    answer = APIClient().post("/api/auth/token", {"username": "annie", "password": "pw-annie"}, format="json")
    assert answer.status_code == 429
    assert "Too many failed logins" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),
        (0, None, "10.0.0.1"),
        (1, "203.0.113.9, 192.0.2.4", "192.0.2.4"),
        (1, "192.0.2.4", "192.0.2.4"),
        (2, "203.0.113.9, 192.0.2.4, 10.0.0.2", "192.0.2.4"),
        (3, "192.0.2.4", "192.0.2.4"),
    ],
)
def test_the_login_throttle_and_drf_see_the_same_client(proxies, forwarded, expected, settings):
    """One setting, TAGWISE_TRUSTED_PROXIES, drives both; they must agree on every shape of the header."""
    settings.TAGWISE_TRUSTED_PROXIES = proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    headers = {"REMOTE_ADDR": "10.0.0.1"}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().post("/api/auth/token", **headers)
    assert client_ip(request) == expected
    assert SimpleRateThrottle.get_ident(SimpleRateThrottle.__new__(SimpleRateThrottle), request) == expected


@pytest.mark.django_db
def test_the_pause_ends_after_the_cool_off_and_refused_attempts_do_not_extend_it(client, annotator, limit, settings):
    for _ in range(limit):
        log_in(client, "annie", "wrong")
    locked_at = set(AccessAttempt.objects.values_list("attempt_time", flat=True))
    assert log_in(client, "annie", "wrong").status_code == 429
    assert log_in(client, "annie", "pw-annie").status_code == 429
    assert set(AccessAttempt.objects.values_list("attempt_time", flat=True)) == locked_at
    # The cool-off passes (moved back in time rather than waited for).
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert log_in(client, "annie", "pw-annie").status_code == 302
