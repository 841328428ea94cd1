"""Every user changes their own password on a page in the app's style."""

from __future__ import annotations

from django.urls import reverse


def test_a_user_changes_their_password(client, annotator):
    client.force_login(annotator)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "Change your password" in page.content.decode()
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "fresh long phrase", "new_password2": "fresh long phrase"},
    )
    assert wrong.status_code == 200 and "incorrectly" in wrong.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": "pw-annie", "new_password1": "fresh long phrase", "new_password2": "fresh long phrase"},
    )
    assert done.status_code == 302 and done["Location"] == reverse("password_change_done")
    client.logout()
    assert client.login(username="annie", password="fresh long phrase")
