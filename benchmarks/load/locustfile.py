"""Tagwise under load: annotators, a reviewer and a manager as people use the site. Headless, 127.0.0.1 only.

Run from the repository root against a server started for the purpose (see
docs/benchmarks.md, "Load and faults", for the whole recipe):

    LOAD_PROJECT=1 LOAD_ACKS=/tmp/acks.csv locust -f benchmarks/load/locustfile.py --headless \\
        --host http://127.0.0.1:8000 --users 52 --spawn-rate 5 --run-time 5m --stop-timeout 10

Annotators (``load0`` ...) log in through the HTML form with its CSRF token,
open the annotate page and then, item after item, answer 3 to 6 labels with
confidences and submit-and-next through htmx, as the page's script does.
Sometimes they skip, sometimes they send the same submit again (a retry
after a timeout: same idempotency key), sometimes they edit an earlier
answer from My work. The reviewer resolves disputes; the manager polls the
dashboard and exports. Every submit or skip the server acknowledged (200) is
appended to LOAD_ACKS with its idempotency key, for benchmarks/load/check.py.
The bound on time is --run-time; LOAD_MAX_SUBMITS (optional) also stops the
run after that many acknowledged submits.
"""

from __future__ import annotations

import csv
import http.cookiejar
import os
import random
import re
import threading
import time
from typing import Any
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

PROJECT = int(os.environ.get("LOAD_PROJECT", "1"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-password")
ACKS = os.environ.get("LOAD_ACKS", "/tmp/tagwise-load-acks.csv")
MAX_SUBMITS = int(os.environ.get("LOAD_MAX_SUBMITS", "0"))
ANNOTATORS = int(os.environ.get("LOAD_ANNOTATORS", "50"))
# Seconds an annotator spends reading a text and answering 3 to 6 labels before the next submit
# (docs/benchmarks.md, "Load and faults"): 5 to 15 s by default, as people work; "1,3" makes a stress run.
THINK = tuple(float(part) for part in os.environ.get("LOAD_THINK", "5,15").split(","))
HTMX = {"HX-Request": "true"}

_acks_lock = threading.Lock()
_acknowledged = [0]
_next_annotator = iter(range(10**6))


@events.test_start.add_listener
def _only_local(environment: Any, **_: Any) -> None:
    host = urlparse(environment.host or "").hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"This load test sends traffic only to 127.0.0.1, not to {host!r}.")


def record_ack(kind: str, username: str, item_id: int, key: str) -> None:
    with _acks_lock:
        with open(ACKS, "a", newline="") as handle:
            csv.writer(handle).writerow([kind, username, item_id, key, f"{time.time():.3f}"])
        _acknowledged[0] += 1


# The server runs with production settings (Secure session and CSRF cookies),
# where a TLS proxy would sit in front; the load test talks to gunicorn on
# 127.0.0.1 over plain http, so the client must send Secure cookies over
# http too. requests copies cookies into a fresh jar with the default policy
# for every request, hence the patch of the policy class. Traffic goes only
# to 127.0.0.1 (checked at the start).
http.cookiejar.DefaultCookiePolicy.return_ok_secure = lambda self, cookie, request: True  # type: ignore[method-assign]


class Browser(HttpUser):
    """Log in as a person does: GET the form, POST it with the CSRF token; then send the token on every POST."""

    abstract = True
    username = ""

    def on_start(self) -> None:
        page = self.client.get("/accounts/login/", name="login form")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
        )

    def csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": f"{self.host}/"}

    def wait_as_asked(self, response: Any) -> None:
        """After a 503, wait as its Retry-After (and the page: "retry in a moment") asks, as a person would."""
        if response.status_code == 503:
            retry_after = response.headers.get("Retry-After", "5")
            time.sleep(min(float(retry_after), 10.0) if retry_after.isascii() and retry_after.isdigit() else 5.0)


class ItemForm:
    """What the annotate page's form holds: where it posts, its idempotency key, the item and its label ids."""

    def __init__(self, html: str) -> None:
        action = re.search(r'id="item-form"[^>]*action="([^"]+)"', html)
        self.action = action.group(1) if action else ""
        item = re.search(r"/annotate/(\d+)/submit/", self.action)
        self.item_id = int(item.group(1)) if item else 0
        key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', html)
        self.key = key.group(1) if key else ""
        self.labels = sorted(set(re.findall(r'name="label-(\d+)"', html)))
        skip = re.search(r'class="skip-form"|action="([^"]+/skip/)"', html)
        self.skip_action = skip.group(1) if skip and skip.group(1) else self.action.replace("/submit/", "/skip/")


class Annotator(Browser):
    weight = 50
    wait_time = between(*THINK)

    def on_start(self) -> None:
        self.username = f"load{next(_next_annotator) % ANNOTATORS}"
        super().on_start()
        self.form: ItemForm | None = None
        self.last_submit: tuple[str, dict[str, str], int] | None = None
        self.open_page()

    def open_page(self) -> None:
        page = self.client.get(f"/projects/{PROJECT}/annotate/", name="annotate page")
        self.form = ItemForm(page.text) if page.status_code == 200 else None
        self.wait_as_asked(page)

    def answers(self, form: ItemForm) -> dict[str, str]:
        data = {"idempotency_key": form.key, "duration_ms": str(random.randint(2000, 15000)), "confirm_rules": ""}
        for label in random.sample(form.labels, min(len(form.labels), random.randint(3, 6))):
            data[f"label-{label}"] = random.choice(["yes", "no", "no"])
            data[f"conf-{label}"] = random.choice(["0.55", "0.8", "1.0"])
        return data

    @task(20)
    def submit_and_next(self) -> None:
        form = self.form
        if form is None or not form.item_id:
            self.open_page()
            return
        data = self.answers(form)
        with self.client.post(
            form.action, data, headers={**HTMX, **self.csrf()}, name="submit and next", catch_response=True
        ) as response:
            if response.status_code == 0:
                # No answer at all (the connection dropped): the page says "Not saved", keeps the
                # answers, and the person presses Enter again, with the same idempotency key.
                response.failure(f"no answer: {response.error!r}")
                self.last_submit = (form.action, data, form.item_id)
                self.retry_the_same_submit()
            elif response.status_code == 200:
                record_ack("submit", self.username, form.item_id, form.key)
                self.last_submit = (form.action, data, form.item_id)
                self.form = ItemForm(response.text)
                response.success()
            elif response.status_code == 503:
                # "Not saved: the database is unavailable": the answers stay on the page and the
                # person sends them again in a moment, with the same key.
                response.failure(f"{response.status_code}: {response.text[:200]}")
                self.last_submit = (form.action, data, form.item_id)
                self.wait_as_asked(response)
                self.retry_the_same_submit()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                self.open_page()
        if MAX_SUBMITS and _acknowledged[0] >= MAX_SUBMITS:
            self.environment.runner.quit()

    @task(2)
    def retry_the_same_submit(self) -> None:
        """A retry after a lost answer: the same key again must store nothing new and still answer 200."""
        if self.last_submit is None:
            return
        action, data, item_id = self.last_submit
        with self.client.post(
            action, data, headers={**HTMX, **self.csrf()}, name="submit replayed", catch_response=True
        ) as response:
            if response.status_code == 200:
                record_ack("replay", self.username, item_id, data["idempotency_key"])
                if self.form is not None and self.form.item_id == item_id:
                    # The first send never got an answer: this one brings the next item.
                    self.form = ItemForm(response.text)
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(2)
    def skip(self) -> None:
        form = self.form
        if form is None or not form.item_id:
            return
        data = {"idempotency_key": form.key, "duration_ms": "3000", "reason": "unclear"}
        with self.client.post(
            form.skip_action, data, headers={**HTMX, **self.csrf()}, name="skip", catch_response=True
        ) as response:
            if response.status_code == 200:
                record_ack("skip", self.username, form.item_id, form.key)
                self.form = ItemForm(response.text)
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                self.open_page()

    @task(1)
    def edit_an_earlier_answer(self) -> None:
        mine = self.client.get(f"/projects/{PROJECT}/mine/", name="my work")
        links = re.findall(rf"/projects/{PROJECT}/mine/(\d+)/edit/", mine.text)
        if not links:
            return
        url = f"/projects/{PROJECT}/mine/{random.choice(links)}/edit/"
        page = self.client.get(url, name="edit page")
        form = ItemForm(page.text)
        data = self.answers(form)
        with self.client.post(
            url, data, headers=self.csrf(), name="edit", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code in (302, 422):  # saved, or refused with a reason (an answer was removed)
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Reviewer(Browser):
    weight = 1
    fixed_count = 1
    wait_time = between(2, 5)
    username = "load-reviewer"

    @task
    def resolve_a_dispute(self) -> None:
        page = self.client.get(f"/projects/{PROJECT}/review/", name="review page")
        forms = re.findall(
            r'name="item" value="(\d+)">\s*<input type="hidden" name="label" value="(\d+)">.*?'
            r'name="seen" value="([^"]*)"',
            page.text,
            flags=re.S,
        )
        if not forms:
            return
        item, label, seen = random.choice(forms)
        data = {"item": item, "label": label, "seen": seen, "value": random.choice(["0", "1"]), "note": ""}
        with self.client.post(
            f"/projects/{PROJECT}/review/resolve/",
            data,
            headers={**HTMX, **self.csrf()},
            name="resolve",
            catch_response=True,
        ) as response:
            # 409: decided meanwhile by someone else, an expected answer the page shows.
            if response.status_code in (200, 409):
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Manager(Browser):
    weight = 1
    fixed_count = 1
    wait_time = between(5, 10)
    username = "load-manager"

    @task(5)
    def poll_the_dashboard(self) -> None:
        self.client.get(f"/projects/{PROJECT}/agreement/", headers=HTMX, name="dashboard poll")

    @task(1)
    def export(self) -> None:
        with self.client.get(
            f"/api/projects/{PROJECT}/export?format=csv", name="export csv", stream=True, catch_response=True
        ) as response:
            size = sum(len(chunk) for chunk in response.iter_content(65536))
            if response.status_code == 200 and size > 0:
                response.success()
            else:
                response.failure(f"{response.status_code}, {size} bytes")
